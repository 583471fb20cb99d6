import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { errorText } from '../lib/api';
import { Poller, type PollSnapshot } from '../lib/poller';

export interface Polled<T> extends Omit<PollSnapshot<T>, 'error'> {
  /** The last failure as a sentence, or null while the last attempt succeeded. */
  error: string | null;
  /** The failure itself (an ApiError for the hub's answers). */
  failure: unknown;
  /** There is data, but the latest attempts failed: show it with its time, marked stale. */
  stale: boolean;
  /** Poll now. */
  refresh: () => void;
}

/**
 * Calls `load` now and every `everyMs` while it succeeds, backing off (doubling, up to
 * `maxMs`) while it fails. A new `load` (another API key) starts over.
 */
export function usePolling<T>(load: () => Promise<T>, everyMs: number, maxMs?: number): Polled<T> {
  const poller = useMemo(() => new Poller(load, { everyMs, maxMs }), [load, everyMs, maxMs]);
  useEffect(() => {
    poller.start();
    return () => poller.stop();
  }, [poller]);
  const snap = useSyncExternalStore(poller.subscribe, poller.getSnapshot);
  return {
    ...snap,
    error: snap.failingSince === null ? null : errorText(snap.error),
    failure: snap.error,
    stale: snap.failingSince !== null && snap.data !== null,
    refresh: poller.refresh,
  };
}
