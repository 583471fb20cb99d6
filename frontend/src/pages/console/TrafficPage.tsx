import { Freshness } from '../../components/Freshness';
import { PageHeader } from '../../components/PageHeader';
import { KeyGate } from '../../components/console/KeyGate';
import { RateChart } from '../../components/console/RateChart';
import { num, rate } from '../../components/console/format';
import { Tile } from '../../components/console/Tile';
import { useStatsFeed } from '../../hooks/useStatsFeed';
import { ratePoints, type CounterScope } from '../../lib/rates';
import { WINDOW_MS } from '../../lib/statsFeed';

const SCOPE: Record<CounterScope, string> = {
  cluster: 'the whole cluster (every node’s counters from GET /api/sse/stats)',
  node: 'the answering node (its counters from GET /api/sse/stats)',
  metrics: 'the answering node (this hub’s stats have no counters yet, so they are read from its /metrics)',
};

export function TrafficPage() {
  const { poll, readings } = useStatsFeed();
  const points = ratePoints(readings);
  const last = points.at(-1);
  const scope = readings.at(-1)?.scope ?? null;
  const stale = poll.failingSince !== null;
  const summary =
    last === undefined
      ? 'Waiting for two readings.'
      : `Now: ${rate(last.eventsPerSecond)} events, ${rate(last.deliveriesPerSecond)} deliveries, ${num(last.connections)} connections.`;
  return (
    <>
      <PageHeader title="Traffic">
        Events published per second, frames delivered per second and open connections over the last {WINDOW_MS / 60_000} minutes, sampled every 2
        s while a console page is open.
      </PageHeader>
      <KeyGate />
      <section className={stale ? 'panel console stale' : 'panel console'} aria-label="Traffic" data-testid="traffic-panel" data-stale={stale}>
        <Freshness polled={poll} testId="traffic-freshness" />
        <div className="tiles">
          <Tile label="events/s" testId="traffic-events">
            {rate(last?.eventsPerSecond)}
          </Tile>
          <Tile label="deliveries/s" testId="traffic-deliveries">
            {rate(last?.deliveriesPerSecond)}
          </Tile>
          <Tile label="connections" testId="traffic-connections">
            {num(last?.connections ?? poll.data?.stats.connections)}
          </Tile>
        </div>
        <ul className="legend" aria-label="Chart legend">
          <li className="legend-events">events/s</li>
          <li className="legend-deliveries">deliveries/s</li>
          <li className="legend-connections">connections (right axis)</li>
        </ul>
        <RateChart points={points} label={`Chart of the last ${WINDOW_MS / 60_000} minutes. ${summary}`} />
        <p className="small muted" data-testid="traffic-scope">
          {scope === null ? 'No counters read yet.' : `Counts ${SCOPE[scope]}.`} {summary}
        </p>
      </section>
    </>
  );
}
