import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../lib/api';

export interface Polled<T> {
  data: T | null;
  error: string | null;
  refresh: () => void;
}

/** Calls `load` now and every `everyMs`; keeps the last good value and the last error. */
export function usePolling<T>(load: () => Promise<T>, everyMs: number): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    const run = () => {
      load().then(
        (v) => {
          if (!live) return;
          setData(v);
          setError(null);
        },
        (e: unknown) => {
          if (live) setError(errorText(e));
        },
      );
    };
    run();
    const t = setInterval(run, everyMs);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [load, everyMs, tick]);
  return { data, error, refresh };
}
