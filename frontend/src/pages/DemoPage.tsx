import { DemoControls } from '../components/DemoControls';
import { PageHeader } from '../components/PageHeader';

export function DemoPage() {
  return (
    <>
      <PageHeader title="Demo generator">
        The hub publishes alert → dataUpdate → heartbeat → notification in a cycle at the chosen interval. In a cluster exactly one
        node generates.
      </PageHeader>
      <DemoControls />
    </>
  );
}
