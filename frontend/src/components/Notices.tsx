import type { SseSnapshot } from '@ssehub/client';
import { useNow } from '../hooks/useNow';
import type { Access } from '../lib/hubAccess';
import { AuthNotice } from './AuthNotice';

// The client writes "<why>; retry <n> in <s> s" once, when it schedules the retry: the
// seconds are replaced by a live countdown so the line never shows an old number.
const RETRY_SUFFIX = /; retry (\d+) in [\d.]+ s$/;

function StreamError({ error, nextRetryAt }: { error: string; nextRetryAt: number | null }) {
  const now = useNow(250);
  const m = RETRY_SUFFIX.exec(error);
  const why = m === null ? error : error.slice(0, m.index);
  const retry = m !== null && nextRetryAt !== null ? `; retry ${m[1]} in ${(Math.max(0, nextRetryAt - now) / 1000).toFixed(1)} s` : '';
  return (
    <div className="notice info" data-testid="stream-error">
      {why}
      {retry}
    </div>
  );
}

/** Visible problems of a stream: a key it lacks, truncated history, invalid events, connection errors. */
export function Notices({ stream, blocked = null }: { stream: SseSnapshot; blocked?: Access | null }) {
  const { reset, invalid, error, status, rewound, nextRetryAt } = stream;
  const failing = status === 'reconnecting' || status === 'error' || status === 'connecting';
  return (
    <>
      {blocked !== null && <AuthNotice access={blocked} />}
      {reset !== null && (
        <div className="notice warn" role="alert" data-testid="reset-notice">
          History was truncated: asked to resume after seq {reset.requested}, but the oldest event the hub still has is seq{' '}
          {reset.oldestAvailable}. Events {reset.requested + 1}–{reset.oldestAvailable - 1} are gone; replay continues from seq{' '}
          {reset.oldestAvailable}.
        </div>
      )}
      {rewound !== null && (
        <div className="notice warn" role="alert" data-testid="rewound-notice">
          The hub's newest event is seq {rewound.to}, behind this client's position seq {rewound.from}: it lost its history or is a different
          hub. The position was moved back to seq {rewound.to} so new events are not mistaken for duplicates.
        </div>
      )}
      {invalid > 0 && (
        <div className="notice bad" role="alert" data-testid="invalid-notice">
          {invalid} event{invalid === 1 ? '' : 's'} failed validation (shown in red below).
        </div>
      )}
      {blocked === null && error !== null && failing && <StreamError error={error} nextRetryAt={nextRetryAt} />}
    </>
  );
}
