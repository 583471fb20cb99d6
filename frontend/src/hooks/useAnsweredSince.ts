import { useEffect, useSyncExternalStore } from 'react';
import { hubApi } from '../lib/api';
import { Poller } from '../lib/poller';
import { reachability } from '../lib/reachability';

const HEALTH_EVERY_MS = 2000;
const HEALTH_MAX_MS = 15_000;

/**
 * When the hub answered again after it failed to answer at `failedAt` (null: no failure to
 * clear, or it has not answered yet). While waiting it asks /health/live, backing off.
 */
export function useAnsweredSince(failedAt: number | null): number | null {
  const last = useSyncExternalStore(reachability.subscribe, reachability.get);
  const back = failedAt !== null && last !== null && last > failedAt ? last : null;
  const waiting = failedAt !== null && back === null;
  useEffect(() => {
    if (!waiting) return undefined;
    const poller = new Poller(() => hubApi('').live(), { everyMs: HEALTH_EVERY_MS, maxMs: HEALTH_MAX_MS });
    poller.start();
    return () => poller.stop();
  }, [waiting]);
  return back;
}
