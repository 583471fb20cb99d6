import type { UseSseResult } from '@ssehub/client/react';
import type { Access } from '../lib/hubAccess';

/** Buttons acting on one stream; while the key is refused (`blocked`) it cannot connect. */
export function StreamControls({ stream }: { stream: UseSseResult & { blocked?: Access | null } }) {
  const closed = stream.status === 'closed';
  const blocked = (stream.blocked ?? null) !== null;
  return (
    <div className="actions" role="group" aria-label="Stream controls">
      {closed ? (
        <button type="button" className="primary" onClick={stream.connect} disabled={blocked} data-testid="stream-connect">
          Connect
        </button>
      ) : (
        <button type="button" onClick={stream.disconnect} data-testid="stream-disconnect">
          Disconnect
        </button>
      )}
      <button type="button" onClick={stream.reconnect} disabled={blocked} data-testid="stream-reconnect">
        Reconnect now
      </button>
      <button type="button" onClick={stream.clear} data-testid="stream-clear">
        Clear list
      </button>
    </div>
  );
}
