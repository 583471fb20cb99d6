import { useNow } from '../hooks/useNow';
import { errorText } from '../lib/api';
import { clock, duration } from '../lib/time';

/** A poll's facts (a Polled or a PollSnapshot); `error` as a sentence or the failure itself. */
interface Facts {
  updatedAt: number | null;
  failingSince: number | null;
  nextAt: number | null;
  error: unknown;
}

/**
 * When polled data was fetched, and whether it is stale: while the hub does not answer,
 * the last data stays on screen, marked with its time and since when the hub has failed.
 * (Not a live region: it ticks every second.)
 */
export function Freshness({ polled, testId = 'freshness' }: { polled: Facts; testId?: string }) {
  const now = useNow(1000);
  const { updatedAt, failingSince, error, nextAt } = polled;
  if (failingSince !== null) {
    return (
      <p className="freshness stale" data-testid={testId} data-state="stale">
        <strong>{updatedAt !== null ? 'Stale' : 'No data'}</strong>
        {updatedAt !== null ? ` — showing data from ${clock(updatedAt)} (${duration(now - updatedAt)} ago).` : '.'} Failing since{' '}
        {clock(failingSince)}: {typeof error === 'string' ? error : errorText(error)}
        {nextAt !== null && `; next try in ${duration(Math.max(0, nextAt - now))}`}.
      </p>
    );
  }
  return (
    <p className="freshness" data-testid={testId} data-state={updatedAt === null ? 'loading' : 'fresh'}>
      {updatedAt === null ? 'Loading…' : `Updated ${clock(updatedAt)}`}
    </p>
  );
}
