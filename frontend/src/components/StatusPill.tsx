import type { SseStatus } from '@ssehub/client';

const LABEL: Record<SseStatus, string> = {
  connecting: 'connecting',
  open: 'open',
  reconnecting: 'reconnecting',
  closed: 'closed',
  error: 'error',
};

/** Connection status, announced politely to screen readers. */
export function StatusPill({ status, testId = 'sse-status' }: { status: SseStatus; testId?: string }) {
  return (
    <span className={`pill pill-${status}`} role="status" aria-label={`connection ${LABEL[status]}`} data-testid={testId} data-status={status}>
      <span className="dot" aria-hidden="true" />
      {LABEL[status]}
    </span>
  );
}
