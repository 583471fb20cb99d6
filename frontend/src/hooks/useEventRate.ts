import type { ReceivedEvent } from '@ssehub/client';
import { useNow } from './useNow';

const WINDOW_MS = 5000;

/** Events per second over the last five seconds. */
export function useEventRate(events: readonly ReceivedEvent[]): number {
  const now = useNow(1000);
  let count = 0;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e === undefined || e.receivedAt < now - WINDOW_MS) break;
    count += 1;
  }
  return count / (WINDOW_MS / 1000);
}
