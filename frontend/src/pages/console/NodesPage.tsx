import { Freshness } from '../../components/Freshness';
import { PageHeader } from '../../components/PageHeader';
import { KeyGate } from '../../components/console/KeyGate';
import { flag, num, rate } from '../../components/console/format';
import { Tile } from '../../components/console/Tile';
import { useNow } from '../../hooks/useNow';
import { useStatsFeed } from '../../hooks/useStatsFeed';
import type { NodeStats, Stats } from '../../lib/api';
import { nodeRates, ratePoints, type NodeRates } from '../../lib/rates';
import { clock, duration } from '../../lib/time';

// Nodes report to the store every 2 s and drop out of `nodes` after 15 s; a report older
// than this is shown as late (the node may be stuck or partitioned).
const LATE_MS = 6000;

/** This node's row from its live top-level figures; other nodes' from their last report. */
function rowOf(stats: Stats, n: NodeStats): NodeStats {
  if (n.node !== stats.node) return n;
  const { connections, clients, dispatchedSequence, eventsPublished, framesDelivered, streamsOpened, ready, storeAvailable } = stats;
  const live = { connections, clients, dispatchedSequence, eventsPublished, framesDelivered, streamsOpened, ready, storeAvailable };
  return { ...n, ...Object.fromEntries(Object.entries(live).filter(([, v]) => v !== undefined)) };
}

function NodeRow({ n, self, rates, now }: { n: NodeStats; self: boolean; rates: NodeRates; now: number }) {
  const seen = n.seenAt === undefined ? null : Date.parse(n.seenAt);
  const late = seen !== null && now - seen > LATE_MS;
  const unhealthy = n.ready === false || n.storeAvailable === false || late;
  return (
    <tr data-testid="node-row" data-node={n.node} className={unhealthy ? 'row-bad' : undefined}>
      <th scope="row">
        {n.node}
        {self && <span className="muted"> (answering)</span>}
      </th>
      <td data-testid="node-ready">{flag(n.ready, 'ready', 'not ready')}</td>
      <td data-testid="node-store">{flag(n.storeAvailable, 'available', 'unavailable')}</td>
      <td data-testid="node-streams">{num(n.connections)}</td>
      <td>{num(n.clients)}</td>
      <td data-testid="node-events-rate">{rate(rates.eventsPerSecond)}</td>
      <td data-testid="node-deliveries-rate">{rate(rates.deliveriesPerSecond)}</td>
      <td>{num(n.streamsOpened)}</td>
      <td>{num(n.dispatchedSequence)}</td>
      <td className={late ? 'text-bad' : undefined}>{seen === null ? 'now' : `${clock(seen)}${late ? ` (late, ${duration(now - seen)})` : ''}`}</td>
    </tr>
  );
}

export function NodesPage() {
  const feed = useStatsFeed();
  const now = useNow(1000);
  const { poll, reports, readings } = feed;
  const stats = poll.data?.stats ?? null;
  const stale = poll.failingSince !== null;
  const latest = ratePoints(readings.slice(-2)).at(-1);
  const nodes = stats === null ? [] : (stats.nodes ?? [{ node: stats.node }]).map((n) => rowOf(stats, n));
  const rates = (node: string): NodeRates => {
    const r = reports.get(node) ?? [];
    const last = r.at(-1);
    return last === undefined ? { eventsPerSecond: null, deliveriesPerSecond: null } : nodeRates(r.at(-2), last);
  };
  return (
    <>
      <PageHeader title="Nodes">
        Every node that reported to the store in the last 15 s, from <code>GET /api/sse/stats</code> every 2 s (backing off while the hub does
        not answer). Rates are differences of the nodes' counters over time.
      </PageHeader>
      <KeyGate />
      <section className={stale ? 'panel console stale' : 'panel console'} aria-label="Nodes" data-testid="nodes-panel" data-stale={stale}>
        <Freshness polled={poll} testId="nodes-freshness" />
        {stats === null ? null : (
          <>
            <div className="tiles">
              <Tile label="nodes" testId="tile-nodes">
                {nodes.length}
              </Tile>
              <Tile label="streams" testId="tile-streams">
                {num(nodes.reduce((a, n) => a + (n.connections ?? 0), 0))}
              </Tile>
              <Tile label="events/s">{rate(latest?.eventsPerSecond)}</Tile>
              <Tile label="deliveries/s">{rate(latest?.deliveriesPerSecond)}</Tile>
              <Tile label="head sequence" testId="tile-head">
                {num(stats.headSequence)}
              </Tile>
              <Tile label="store">{typeof stats.store === 'string' ? stats.store : '—'}</Tile>
              <Tile label="uptime (answering node)">{stats.uptimeSeconds === undefined ? '—' : duration(stats.uptimeSeconds * 1000)}</Tile>
            </div>
            <div className="table-scroll">
              <table data-testid="nodes-table">
                <caption>{nodes.length > 1 ? `Cluster of ${nodes.length} nodes` : 'One node'}</caption>
                <thead>
                  <tr>
                    <th scope="col">node</th>
                    <th scope="col">readiness</th>
                    <th scope="col">store</th>
                    <th scope="col">streams</th>
                    <th scope="col">clients</th>
                    <th scope="col">events/s</th>
                    <th scope="col">deliveries/s</th>
                    <th scope="col">streams opened</th>
                    <th scope="col">dispatched</th>
                    <th scope="col">last report</th>
                  </tr>
                </thead>
                <tbody>
                  {nodes.map((n) => (
                    <NodeRow key={n.node} n={n} self={n.node === stats.node} rates={rates(n.node)} now={now} />
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
    </>
  );
}
