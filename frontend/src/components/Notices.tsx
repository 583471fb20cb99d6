import type { SseSnapshot } from '@ssehub/client';

/** Visible problems of a stream: truncated history, invalid events, connection errors. */
export function Notices({ stream }: { stream: SseSnapshot }) {
  const { reset, invalid, error, status, rewound } = stream;
  return (
    <>
      {reset !== null && (
        <div className="notice warn" role="alert" data-testid="reset-notice">
          History was truncated: asked to resume after #{reset.requested}, but the oldest event the hub still has is #
          {reset.oldestAvailable}. Events #{reset.requested + 1}–#{reset.oldestAvailable - 1} are gone; replay continues from #
          {reset.oldestAvailable}.
        </div>
      )}
      {rewound !== null && (
        <div className="notice warn" role="alert" data-testid="rewound-notice">
          The hub's newest event is #{rewound.to}, behind this client's position #{rewound.from}: it lost its history or is a different hub.
          The position was moved back to #{rewound.to} so new events are not mistaken for duplicates.
        </div>
      )}
      {invalid > 0 && (
        <div className="notice bad" role="alert" data-testid="invalid-notice">
          {invalid} event{invalid === 1 ? '' : 's'} failed validation (shown in red below).
        </div>
      )}
      {error !== null && status !== 'open' && (
        <div className="notice info" data-testid="stream-error">
          {error}
        </div>
      )}
    </>
  );
}
