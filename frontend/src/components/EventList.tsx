import { summarize, type ReceivedEvent } from '@ssehub/client';
import { clockMs } from '../lib/time';
import { TypeBadge } from './TypeBadge';

interface Props {
  events: readonly ReceivedEvent[];
  label: string;
  emptyText?: string;
  /** Newest first (a live feed) or oldest first (a record). */
  newestFirst?: boolean;
  testId?: string;
  limit?: number;
}

const topicsOf = (e: ReceivedEvent): readonly string[] => (e.parsed.kind === 'invalid' ? [] : (e.parsed.event.topics ?? []));

/**
 * A scrolling, keyboard-focusable log of received events. The sequence is labelled "seq"
 * (never "#"), so it is not confused with numbers inside a summary ("Demo alert #4").
 * Narrow lists (a column, a phone) wrap the summary under the sequence instead of cutting it.
 */
export function EventList({ events, label, emptyText = 'No events yet.', newestFirst = true, testId = 'event-list', limit = 200 }: Props) {
  const shown = newestFirst ? events.slice(-limit).reverse() : events.slice(-limit);
  return (
    <div className="event-list" role="log" aria-label={label} aria-live="off" tabIndex={0} data-testid={testId}>
      {shown.length === 0 ? (
        <p className="empty">{emptyText}</p>
      ) : (
        <ol>
          {shown.map((e) => {
            const invalid = e.parsed.kind === 'invalid';
            const topics = topicsOf(e);
            return (
              <li
                key={`${e.sequence ?? 'x'}-${e.receivedAt}-${e.type}`}
                className={invalid ? 'row invalid' : 'row'}
                data-testid="event-row"
                data-seq={e.sequence ?? ''}
                data-type={e.type}
              >
                <span className="seq" data-testid="event-seq">
                  <abbr title="sequence number (the hub's global order)">seq</abbr> {e.sequence ?? '?'}
                </span>
                <TypeBadge type={e.type} invalid={invalid} />
                <span className="summary" data-testid="event-summary">
                  {summarize(e.parsed)}
                  {topics.length > 0 && (
                    <span className="topics" data-testid="event-topics">
                      {topics.map((t) => (
                        <code key={t}>{t}</code>
                      ))}
                    </span>
                  )}
                </span>
                <time className="when">{clockMs(e.receivedAt)}</time>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
