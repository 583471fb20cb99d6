import type { ReceivedEvent } from '@ssehub/client';
import { TypeBadge } from './TypeBadge';

/** One event rendered by its type, using the validated fields. */
export function TypedEventCard({ e }: { e: ReceivedEvent }) {
  const p = e.parsed;
  return (
    <article className={`card card-${p.kind}`} data-testid="typed-card" data-kind={p.kind} data-seq={e.sequence ?? ''}>
      <header>
        <TypeBadge type={e.type} invalid={p.kind === 'invalid'} />
        <span className="seq">seq {e.sequence ?? '?'}</span>
      </header>
      {p.kind === 'notification' && (
        <p>
          <strong className={`sev sev-${p.event.severity}`}>{p.event.severity}</strong> {p.event.message}
        </p>
      )}
      {p.kind === 'alert' && (
        <p>
          <strong className={`sev sev-${p.event.severity}`}>{p.event.severity}</strong> [{p.event.category}] {p.event.message}
        </p>
      )}
      {p.kind === 'dataUpdate' && (
        <>
          <p>
            {p.event.entityType} <code>{p.event.entityId}</code> changed
          </p>
          <dl className="changes">
            {Object.entries(p.event.changes).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd className="mono">{JSON.stringify(v)}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
      {p.kind === 'heartbeat' && <p className="muted">heartbeat at {p.event.timestamp}</p>}
      {(p.kind === 'message' || p.kind === 'custom') && <pre className="mono">{JSON.stringify(p.event.data, null, 2)}</pre>}
      {p.kind === 'invalid' && (
        <>
          <p className="text-bad">Rejected: {p.problem}</p>
          <pre className="mono">{p.raw}</pre>
        </>
      )}
    </article>
  );
}
