import { summarize, type ReceivedEvent } from '@ssehub/client';
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

function time(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

/** A scrolling, keyboard-focusable log of received events. */
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
            return (
              <li
                key={`${e.sequence ?? 'x'}-${e.receivedAt}-${e.type}`}
                className={invalid ? 'row invalid' : 'row'}
                data-testid="event-row"
                data-seq={e.sequence ?? ''}
                data-type={e.type}
              >
                <span className="seq" title="sequence">
                  #{e.sequence ?? '?'}
                </span>
                <TypeBadge type={e.type} invalid={invalid} />
                <span className="summary" data-testid="event-summary">
                  {summarize(e.parsed)}
                </span>
                <time className="when">{time(e.receivedAt)}</time>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
