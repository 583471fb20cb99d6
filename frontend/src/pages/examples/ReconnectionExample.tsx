import { EventList } from '../../components/EventList';
import { Notices } from '../../components/Notices';
import { PageHeader } from '../../components/PageHeader';
import { StreamControls } from '../../components/StreamControls';
import { StreamFacts } from '../../components/StreamFacts';
import { useNow } from '../../hooks/useNow';
import { useHubStream } from '../../hooks/useHubStream';

export function ReconnectionExample() {
  const stream = useHubStream();
  const now = useNow(250);
  const retryIn = stream.nextRetryAt === null ? null : Math.max(0, stream.nextRetryAt - now);
  return (
    <>
      <PageHeader title="Reconnection">
        Stop the hub (or press “Reconnect now”) and watch: the browser first retries with Last-Event-ID; if the hub stays down the client
        backs off exponentially with jitter and resumes with checkpoint=lastSequence once it is back. Nothing is lost or repeated.
      </PageHeader>
      <section className="panel" aria-label="Reconnecting stream">
        <StreamFacts stream={stream} />
        <StreamControls stream={stream} />
        {retryIn !== null && (
          <p className="notice info" data-testid="retry-countdown">
            Next attempt in {(retryIn / 1000).toFixed(1)} s
          </p>
        )}
        <Notices stream={stream} />
        <p className="small muted">
          Stream URL: <code data-testid="stream-url">{stream.streamUrl?.replace(/apikey=[^&]*/, 'apikey=•••') ?? '—'}</code>
        </p>
        <h2>Status history</h2>
        <ol className="timeline" aria-label="Status history">
          {stream.history.map((h) => (
            <li key={h.at + h.status}>
              <time className="mono small">{new Date(h.at).toLocaleTimeString([], { hour12: false })}</time> <strong>{h.status}</strong>
              {h.error !== null && <span className="muted"> — {h.error}</span>}
            </li>
          ))}
        </ol>
        <EventList events={stream.events} label="Events" />
      </section>
    </>
  );
}
