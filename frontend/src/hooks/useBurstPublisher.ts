import { useCallback, useState } from 'react';
import { useAction, type Action } from './useAction';
import { useHubApi } from './useHubApi';

export interface BurstPublisher {
  /** Publishes `count` broadcast `message` events, one after another. */
  action: Action<[], number[]>;
  /** Sequences published since the last `forget()`. */
  published: readonly number[];
  forget: () => void;
}

/** Publishes small bursts of numbered events and remembers their sequences. */
export function useBurstPublisher(count: number, note: string): BurstPublisher {
  const api = useHubApi();
  const [published, setPublished] = useState<number[]>([]);
  const burst = useCallback(async () => {
    const seqs: number[] = [];
    for (let i = 1; i <= count; i++) {
      const r = await api.broadcast({ note, n: i });
      seqs.push(r.sequence);
    }
    setPublished((prev) => [...prev, ...seqs]);
    return seqs;
  }, [api, count, note]);
  const action = useAction(burst);
  const forget = useCallback(() => setPublished([]), []);
  return { action, published, forget };
}
