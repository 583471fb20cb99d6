import { lazy, Suspense, type ComponentType } from 'react';
import { Layout, type NavItem } from './components/Layout';
import { useRoute } from './hooks/useRoute';
import { DashboardPage } from './pages/DashboardPage';
import { DemoPage } from './pages/DemoPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { PublishPage } from './pages/PublishPage';
import { ConnectionsPage } from './pages/console/ConnectionsPage';
import { NodesPage } from './pages/console/NodesPage';
import { OutboxPage } from './pages/console/OutboxPage';
import { PresencePage } from './pages/console/PresencePage';
import { BasicExample } from './pages/examples/BasicExample';
import { CheckpointExample } from './pages/examples/CheckpointExample';
import { CustomEventsExample } from './pages/examples/CustomEventsExample';
import { FilteredExample } from './pages/examples/FilteredExample';
import { MultipleStreamsExample } from './pages/examples/MultipleStreamsExample';
import { ReconnectionExample } from './pages/examples/ReconnectionExample';
import { TopicsExample } from './pages/examples/TopicsExample';
import { TypedEventsExample } from './pages/examples/TypedEventsExample';

// The chart library is loaded with the Traffic page only, not with every page.
const TrafficPage = lazy(() => import('./pages/console/TrafficPage').then((m) => ({ default: m.TrafficPage })));

export const ROUTES: readonly (NavItem & { page: ComponentType })[] = [
  { path: '/console', label: 'Nodes', group: 'operate', page: NodesPage },
  { path: '/console/traffic', label: 'Traffic', group: 'operate', page: TrafficPage },
  { path: '/console/connections', label: 'Connections', group: 'operate', page: ConnectionsPage },
  { path: '/console/outbox', label: 'Outbox', group: 'operate', page: OutboxPage },
  { path: '/console/presence', label: 'Presence', group: 'operate', page: PresencePage },
  { path: '/', label: 'Dashboard', group: 'main', page: DashboardPage },
  { path: '/publish', label: 'Publish', group: 'main', page: PublishPage },
  { path: '/demo', label: 'Demo generator', group: 'main', page: DemoPage },
  // the stats page grew into the console's Nodes page; its old address still works
  { path: '/stats', label: 'Nodes', group: 'operate', page: NodesPage, hidden: true },
  { path: '/examples/basic', label: 'Basic', group: 'examples', page: BasicExample },
  { path: '/examples/typed', label: 'Typed events', group: 'examples', page: TypedEventsExample },
  { path: '/examples/multiple', label: 'Multiple streams', group: 'examples', page: MultipleStreamsExample },
  { path: '/examples/reconnection', label: 'Reconnection', group: 'examples', page: ReconnectionExample },
  { path: '/examples/filtered', label: 'Filtered events', group: 'examples', page: FilteredExample },
  { path: '/examples/custom', label: 'Custom events', group: 'examples', page: CustomEventsExample },
  { path: '/examples/topics', label: 'Topics', group: 'examples', page: TopicsExample },
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
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <Page key={normalized} />
      </Suspense>
    </Layout>
  );
}
