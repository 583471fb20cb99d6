import { useCallback, useState } from 'react';
import { Freshness } from '../../components/Freshness';
import { PageHeader } from '../../components/PageHeader';
import { KeyGate } from '../../components/console/KeyGate';
import { NotAvailable } from '../../components/console/NotAvailable';
import { num } from '../../components/console/format';
import { useHubApi } from '../../hooks/useHubApi';
import { useNow } from '../../hooks/useNow';
import { usePolling } from '../../hooks/usePolling';
import { isMissingEndpoint } from '../../lib/api';
import { clock, duration } from '../../lib/time';

const PAGE = 100;
const POLL_MS = 5000;

/** The open streams of the answering node (GET /api/sse/connections, CONTRACT-NEXT item 3), 100 a page. */
export function ConnectionsPage() {
  const api = useHubApi();
  const now = useNow(1000);
  // The `after=` of each page shown so far: [null] is the first page.
  const [pages, setPages] = useState<(number | null)[]>([null]);
  const after = pages.at(-1) ?? null;
  const load = useCallback(() => api.connections(after, PAGE), [api, after]);
  const polled = usePolling(load, POLL_MS);
  const missing = isMissingEndpoint(polled.failure);
  const data = polled.data;
  return (
    <>
      <PageHeader title="Connections">
        The streams open on the node that answers, oldest first: client, filter, topics, since when, position. Refreshed every 5 s.
      </PageHeader>
      <KeyGate />
      <section className={polled.stale ? 'panel console stale' : 'panel console'} aria-label="Connections" data-testid="connections-panel" data-stale={polled.stale}>
        {missing ? (
          <NotAvailable feature="The connections list">
            The hub needs <code>GET /api/sse/connections</code>. Until then the Nodes page shows how many streams each node holds.
          </NotAvailable>
        ) : (
          <>
            <Freshness polled={polled} testId="connections-freshness" />
            {data !== null && (
              <>
                <p data-testid="connections-total">
                  Node <strong className="mono">{data.node}</strong> holds <strong>{num(data.total)}</strong> stream{data.total === 1 ? '' : 's'}
                  {pages.length > 1 ? ` (page ${pages.length})` : ''}.
                </p>
                <div className="table-scroll">
                  <table data-testid="connections-table">
                    <caption>Open streams on {data.node}</caption>
                    <thead>
                      <tr>
                        <th scope="col">conn</th>
                        <th scope="col">client id</th>
                        <th scope="col">filter</th>
                        <th scope="col">topics</th>
                        <th scope="col">since</th>
                        <th scope="col">position</th>
                        <th scope="col">node</th>
                        <th scope="col">protocol</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.connections.map((c) => {
                        const since = c.connectedAt === undefined ? null : Date.parse(c.connectedAt);
                        return (
                          <tr key={c.connId} data-testid="connection-row" data-client={c.clientId}>
                            <td className="mono">{c.connId}</td>
                            <th scope="row" className="mono">
                              {c.clientId}
                            </th>
                            <td className="mono" data-testid="connection-filter">
                              {c.filter === null || c.filter === undefined || c.filter.length === 0 ? 'all types' : c.filter.join(', ')}
                            </td>
                            <td className="mono">{c.topics === null || c.topics === undefined || c.topics.length === 0 ? '—' : c.topics.join(' ')}</td>
                            <td>{since === null ? '—' : `${clock(since)} (${duration(now - since)})`}</td>
                            <td className="mono">{num(c.position)}</td>
                            <td className="mono">{c.node ?? data.node}</td>
                            <td>
                              {c.protocol ?? '—'}
                              {c.tls === true ? ' + TLS' : ''}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
                <div className="actions">
                  <button type="button" disabled={pages.length === 1} onClick={() => setPages((p) => p.slice(0, -1))}>
                    Previous page
                  </button>
                  <button
                    type="button"
                    disabled={data.next === null || data.next === undefined}
                    onClick={() => setPages((p) => [...p, data.next ?? null])}
                    data-testid="connections-next"
                  >
                    Next page
                  </button>
                </div>
              </>
            )}
          </>
        )}
      </section>
    </>
  );
}
