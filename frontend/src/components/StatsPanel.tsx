import { useId } from 'react';
import type { NodeStats, Stats } from '../lib/api';
import { useHubApi } from '../hooks/useHubApi';
import { usePolling } from '../hooks/usePolling';

const n = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toLocaleString());

function NodeRow({ s, self }: { s: NodeStats | Stats; self: boolean }) {
  return (
    <tr data-testid="stats-node">
      <th scope="row">
        {s.node}
        {self && <span className="muted"> (this node)</span>}
      </th>
      <td>{n(s.connections)}</td>
      <td>{n(s.clients)}</td>
      <td>{n(s.dispatchedSequence)}</td>
      <td>{'seenAt' in s && typeof s.seenAt === 'string' ? new Date(s.seenAt).toLocaleTimeString([], { hour12: false }) : 'now'}</td>
    </tr>
  );
}

/** GET /api/sse/stats every two seconds; a `nodes` array (cluster mode) gets one row per node. */
export function StatsPanel() {
  const api = useHubApi();
  const id = useId();
  const { data, error } = usePolling(api.stats, 2000);
  return (
    <section className="panel stats" aria-labelledby={`${id}-h`} data-testid="stats-panel">
      <h2 id={`${id}-h`}>Hub stats</h2>
      {error !== null && <p className="text-bad" role="alert">{error}</p>}
      {data === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <div className="tiles">
            <div className="tile"><span>connections</span><strong data-testid="stats-connections">{n(data.connections)}</strong></div>
            <div className="tile"><span>clients</span><strong>{n(data.clients)}</strong></div>
            <div className="tile"><span>head sequence</span><strong data-testid="stats-head">{n(data.headSequence)}</strong></div>
            <div className="tile"><span>oldest retained</span><strong>{n(data.oldestSequence)}</strong></div>
            <div className="tile"><span>store</span><strong>{typeof data.store === 'string' ? data.store : data.store === undefined ? '—' : JSON.stringify(data.store)}</strong></div>
          </div>
          <table>
            <caption>{data.nodes !== undefined && data.nodes.length > 1 ? `Cluster: ${data.nodes.length} nodes` : 'Single node'}</caption>
            <thead>
              <tr>
                <th scope="col">node</th>
                <th scope="col">connections</th>
                <th scope="col">clients</th>
                <th scope="col">dispatched</th>
                <th scope="col">last seen</th>
              </tr>
            </thead>
            <tbody>
              {data.nodes !== undefined
                ? data.nodes.map((s) => <NodeRow key={s.node} s={s} self={s.node === data.node} />)
                : <NodeRow s={data} self />}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
