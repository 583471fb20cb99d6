import type { ComponentType } from 'react';
import { Layout, type NavItem } from './components/Layout';
import { useRoute } from './hooks/useRoute';
import { DashboardPage } from './pages/DashboardPage';
import { DemoPage } from './pages/DemoPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { PublishPage } from './pages/PublishPage';
import { StatsPage } from './pages/StatsPage';
import { BasicExample } from './pages/examples/BasicExample';
import { CheckpointExample } from './pages/examples/CheckpointExample';
import { CustomEventsExample } from './pages/examples/CustomEventsExample';
import { FilteredExample } from './pages/examples/FilteredExample';
import { MultipleStreamsExample } from './pages/examples/MultipleStreamsExample';
import { ReconnectionExample } from './pages/examples/ReconnectionExample';
import { TypedEventsExample } from './pages/examples/TypedEventsExample';

const ROUTES: readonly (NavItem & { page: ComponentType })[] = [
  { path: '/', label: 'Dashboard', group: 'main', page: DashboardPage },
  { path: '/publish', label: 'Publish', group: 'main', page: PublishPage },
  { path: '/demo', label: 'Demo generator', group: 'main', page: DemoPage },
  { path: '/stats', label: 'Stats', group: 'main', page: StatsPage },
  { path: '/examples/basic', label: 'Basic', group: 'examples', page: BasicExample },
  { path: '/examples/typed', label: 'Typed events', group: 'examples', page: TypedEventsExample },
  { path: '/examples/multiple', label: 'Multiple streams', group: 'examples', page: MultipleStreamsExample },
  { path: '/examples/reconnection', label: 'Reconnection', group: 'examples', page: ReconnectionExample },
  { path: '/examples/filtered', label: 'Filtered events', group: 'examples', page: FilteredExample },
  { path: '/examples/custom', label: 'Custom events', group: 'examples', page: CustomEventsExample },
  { path: '/examples/checkpoint', label: 'Checkpoint recovery', group: 'examples', page: CheckpointExample },
];

export function App() {
  const path = useRoute();
  const normalized = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const route = ROUTES.find((r) => r.path === normalized);
  const Page = route?.page ?? NotFoundPage;
  return (
    <Layout nav={ROUTES} current={normalized}>
      {/* key: a new page mounts fresh hooks (its own streams) */}
      <Page key={normalized} />
    </Layout>
  );
}
