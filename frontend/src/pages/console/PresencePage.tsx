import { useCallback, useId, useState, type FormEvent } from 'react';
import { Freshness } from '../../components/Freshness';
import { PageHeader } from '../../components/PageHeader';
import { KeyGate } from '../../components/console/KeyGate';
import { NotAvailable } from '../../components/console/NotAvailable';
import { num } from '../../components/console/format';
import { useHubApi } from '../../hooks/useHubApi';
import { useHubFeatures } from '../../hooks/useHubFeatures';
import { useNow } from '../../hooks/useNow';
import { usePolling } from '../../hooks/usePolling';
import { isMissingEndpoint } from '../../lib/api';
import { clock, duration } from '../../lib/time';

const POLL_MS = 5000;
const PAGE = 100;

/** Who is connected to a topic, cluster-wide (GET /api/sse/presence, CONTRACT-NEXT item 5). */
export function PresencePage() {
  const api = useHubApi();
  const features = useHubFeatures(['presence']);
  const id = useId();
  const now = useNow(1000);
  const [draft, setDraft] = useState('*');
  const [selector, setSelector] = useState('*');
  const [pages, setPages] = useState<(string | number | null)[]>([null]);
  const after = pages.at(-1) ?? null;
  const load = useCallback(() => api.presence(selector, after, PAGE), [api, selector, after]);
  const polled = usePolling(load, POLL_MS);
  const missing = features.presence === false || isMissingEndpoint(polled.failure);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSelector(draft.trim() === '' ? '*' : draft.trim());
    setPages([null]);
  };
  const data = polled.data;
  return (
    <>
      <PageHeader title="Presence">
        Which clients hold streams on a topic, on every node: their client id, node, topics, number of streams and since when.
      </PageHeader>
      <KeyGate />
      <section className={polled.stale ? 'panel console stale' : 'panel console'} aria-label="Presence" data-testid="presence-panel" data-stale={polled.stale}>
        {missing ? (
          <NotAvailable feature="Presence">
            It needs <code>GET /api/sse/presence</code> and topics on streams. The Connections and Nodes pages show what this hub knows.
          </NotAvailable>
        ) : (
          <>
            <form className="inline-form" onSubmit={submit}>
              <div className="field">
                <label htmlFor={`${id}-sel`}>Topic selector</label>
                <input id={`${id}-sel`} value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="org/42/*" data-testid="presence-topic" />
              </div>
              <button type="submit" className="primary" data-testid="presence-show">
                Show
              </button>
            </form>
            <Freshness polled={polled} testId="presence-freshness" />
            {data !== null && (
              <div className="table-scroll">
                <table data-testid="presence-table">
                  <caption>
                    Clients on <code>{selector}</code>
                    {pages.length > 1 ? ` (page ${pages.length})` : ''}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">client id</th>
                      <th scope="col">node</th>
                      <th scope="col">topics</th>
                      <th scope="col">streams</th>
                      <th scope="col">since</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.clients.length === 0 && (
                      <tr>
                        <td colSpan={5} className="muted">
                          Nobody is connected to this topic.
                        </td>
                      </tr>
                    )}
                    {data.clients.map((c) => {
                      const since = c.connectedAt === undefined ? null : Date.parse(c.connectedAt);
                      return (
                        <tr key={`${c.clientId}@${c.node ?? ''}`} data-testid="presence-row" data-client={c.clientId}>
                          <th scope="row" className="mono">
                            {c.clientId}
                          </th>
                          <td className="mono">{c.node ?? '—'}</td>
                          <td className="mono">{(c.topics ?? []).join(' ') || '—'}</td>
                          <td>{num(c.streams)}</td>
                          <td>{since === null ? '—' : `${clock(since)} (${duration(now - since)})`}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
            {data !== null && data.next !== null && data.next !== undefined && (
              <button type="button" onClick={() => setPages((p) => [...p, data.next ?? null])}>
                Next page
              </button>
            )}
          </>
        )}
      </section>
    </>
  );
}
