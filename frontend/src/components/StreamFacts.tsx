import type { SseSnapshot } from '@ssehub/client';
import { StatusPill } from './StatusPill';

interface Props {
  stream: SseSnapshot;
  rate?: number;
}

/** The connection's key numbers as a definition list. */
export function StreamFacts({ stream, rate }: Props) {
  return (
    <div className="facts">
      <StatusPill status={stream.status} />
      <dl>
        <div>
          <dt>node</dt>
          <dd data-testid="sse-node">{stream.node ?? '—'}</dd>
        </div>
        <div>
          <dt>last sequence</dt>
          <dd data-testid="last-sequence">{stream.lastSequence ?? '—'}</dd>
        </div>
        {rate !== undefined && (
          <div>
            <dt>events/s</dt>
            <dd data-testid="event-rate">{rate.toFixed(1)}</dd>
          </div>
        )}
        <div>
          <dt>received</dt>
          <dd data-testid="received-count">{stream.received}</dd>
        </div>
        <div>
          <dt>duplicates dropped</dt>
          <dd data-testid="duplicate-count">{stream.duplicates}</dd>
        </div>
        <div>
          <dt>reconnects</dt>
          <dd data-testid="reconnect-count">{stream.reconnects}</dd>
        </div>
        <div>
          <dt>resumed from</dt>
          <dd data-testid="resume-from">{stream.connection?.resumeFrom ?? 'live'}</dd>
        </div>
        <div>
          <dt>client id</dt>
          <dd data-testid="client-id" className="mono">
            {stream.clientId}
          </dd>
        </div>
      </dl>
    </div>
  );
}
