import type { UseSseResult } from '@ssehub/client/react';

/** Buttons acting on one stream. */
export function StreamControls({ stream }: { stream: UseSseResult }) {
  const closed = stream.status === 'closed';
  return (
    <div className="actions" role="group" aria-label="Stream controls">
      {closed ? (
        <button type="button" className="primary" onClick={stream.connect} data-testid="stream-connect">
          Connect
        </button>
      ) : (
        <button type="button" onClick={stream.disconnect} data-testid="stream-disconnect">
          Disconnect
        </button>
      )}
      <button type="button" onClick={stream.reconnect} data-testid="stream-reconnect">
        Reconnect now
      </button>
      <button type="button" onClick={stream.clear} data-testid="stream-clear">
        Clear list
      </button>
    </div>
  );
}
