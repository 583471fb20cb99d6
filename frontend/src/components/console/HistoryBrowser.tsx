import { parseEvent, summarize } from '@ssehub/client';
import { useCallback, useId, useState, type FormEvent } from 'react';
import { useAction } from '../../hooks/useAction';
import { useHubApi } from '../../hooks/useHubApi';
import type { History } from '../../lib/api';
import { parseTypeList } from '../TypeListField';
import { parseTopicList } from '../TopicsField';
import { TypeBadge } from '../TypeBadge';

const LIMIT = 50;

interface Query {
  after: number;
  filter: string;
  topic: string;
}

/**
 * Reads the outbox through GET /api/sse/events (CONTRACT-NEXT item 6): the same events a
 * stream with these parameters would replay, 50 a page, with this key's visibility.
 */
export function HistoryBrowser({ oldest, topics }: { oldest: number | null; topics: boolean }) {
  const api = useHubApi();
  const id = useId();
  const [q, setQ] = useState<Query>({ after: Math.max(0, (oldest ?? 1) - 1), filter: '', topic: '' });
  const [pages, setPages] = useState<History[]>([]);
  const load = useCallback(
    (query: Query, after: number) => {
      const topic = topics ? parseTopicList(query.topic, true).valid[0] : undefined;
      return api.history({ after, limit: LIMIT, filter: parseTypeList(query.filter), topic });
    },
    [api, topics],
  );
  const first = useAction(
    useCallback(
      async (query: Query) => {
        const page = await load(query, query.after);
        setPages([page]);
        return page;
      },
      [load],
    ),
  );
  const more = useAction(
    useCallback(
      async (query: Query, after: number) => {
        const page = await load(query, after);
        setPages((p) => [...p, page]);
        return page;
      },
      [load],
    ),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void first.run(q);
  };
  const events = pages.flatMap((p) => p.events);
  const last = pages.at(-1);
  const error = first.error ?? more.error;
  return (
    <section className="panel" aria-labelledby={`${id}-h`} data-testid="history-browser">
      <h2 id={`${id}-h`}>History</h2>
      <form className="history-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${id}-after`}>After sequence</label>
          <input id={`${id}-after`} type="number" min={0} value={q.after} onChange={(e) => setQ({ ...q, after: Math.max(0, Number(e.target.value) || 0) })} data-testid="history-after" />
        </div>
        <div className="field">
          <label htmlFor={`${id}-filter`}>Types (comma separated, empty = all)</label>
          <input id={`${id}-filter`} value={q.filter} onChange={(e) => setQ({ ...q, filter: e.target.value })} placeholder="alert, notification" data-testid="history-filter" />
        </div>
        {topics && (
          <div className="field">
            <label htmlFor={`${id}-topic`}>Topic selector</label>
            <input id={`${id}-topic`} value={q.topic} onChange={(e) => setQ({ ...q, topic: e.target.value })} placeholder="org/42/*" />
          </div>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={first.pending} data-testid="history-load">
            Read
          </button>
        </div>
      </form>
      {error !== null && (
        <p className="text-bad" role="alert">
          {error}
        </p>
      )}
      {last !== undefined && (
        <p className="small muted" data-testid="history-range">
          Oldest retained seq {last.oldestSequence ?? '—'}, head seq {last.headSequence}; {events.length} event{events.length === 1 ? '' : 's'} shown.
        </p>
      )}
      {pages.length > 0 && (
        <div className="table-scroll">
          <table data-testid="history-table">
            <caption>Events after seq {q.after}</caption>
            <thead>
              <tr>
                <th scope="col">seq</th>
                <th scope="col">type</th>
                <th scope="col">published</th>
                <th scope="col">event</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => {
                const raw = JSON.stringify(e);
                const parsed = parseEvent(e.type, raw, String(e._sequence));
                const ts = typeof e['timestamp'] === 'string' ? e['timestamp'] : '';
                return (
                  <tr key={e._sequence} data-testid="history-row" data-seq={e._sequence} data-type={e.type}>
                    <td className="mono">{e._sequence}</td>
                    <td>
                      <TypeBadge type={e.type} invalid={parsed.kind === 'invalid'} />
                    </td>
                    <td className="mono small">{ts}</td>
                    <td className="summary-cell">{summarize(parsed)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {last !== undefined && last.next !== null && last.next !== undefined && (
        <button type="button" onClick={() => void more.run(q, last.next ?? 0)} disabled={more.pending} data-testid="history-more">
          Next {LIMIT}
        </button>
      )}
    </section>
  );
}
