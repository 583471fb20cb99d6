import { Link } from '../components/Link';
import { PageHeader } from '../components/PageHeader';

export function NotFoundPage() {
  return (
    <PageHeader title="Not found">
      Nothing lives at this address. <Link href="/">Back to the dashboard</Link>.
    </PageHeader>
  );
}
