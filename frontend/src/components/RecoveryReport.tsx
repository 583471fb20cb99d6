import type { ConnectionInfo } from '@ssehub/client';

interface Props {
  /** Sequences published while disconnected. */
  away: readonly number[];
  connection: ConnectionInfo | null;
  online: boolean;
}

/** Which sequences a resumed connection replayed, against those published while away. */
export function RecoveryReport({ away, connection, online }: Props) {
  const recovered = connection?.recovered ?? [];
  const missing = away.filter((s) => !recovered.includes(s));
  return (
    <div className="recovery" role="status" data-testid="recovery-report">
      <p>
        Published while away: <span className="mono" data-testid="cp-away">{away.length === 0 ? '—' : away.map((s) => `#${s}`).join(' ')}</span>
      </p>
      {online && connection !== null && (
        <>
          <p>
            Resumed from <strong className="mono">{connection.resumeFrom === null ? 'live (no position)' : `#${connection.resumeFrom}`}</strong>; hub head
            was #{connection.headSequence ?? '?'}.
          </p>
          <p>
            Recovered on reconnect: <span className="mono" data-testid="cp-recovered">{recovered.length === 0 ? 'none' : recovered.map((s) => `#${s}`).join(' ')}</span>
          </p>
          {away.length > 0 && (
            <p className={missing.length === 0 ? 'text-good' : 'text-bad'} data-testid="cp-verdict">
              {missing.length === 0 ? `All ${away.length} events published while away were recovered, once each.` : `Missing: ${missing.map((s) => `#${s}`).join(' ')}`}
            </p>
          )}
        </>
      )}
    </div>
  );
}
