import { PageHeader } from '../components/PageHeader';
import { StatsPanel } from '../components/StatsPanel';

export function StatsPage() {
  return (
    <>
      <PageHeader title="Stats">Connections and sequence positions of the hub, refreshed every two seconds.</PageHeader>
      <StatsPanel />
    </>
  );
}
