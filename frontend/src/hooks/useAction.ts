import { useCallback, useState } from 'react';
import { errorText } from '../lib/api';

export interface Action<A extends unknown[], T> {
  run: (...args: A) => Promise<T | undefined>;
  pending: boolean;
  /** The outcome of the last run only: a new run clears both. */
  result: T | null;
  error: string | null;
  /** The failure itself (an ApiError for the hub's answers). */
  failure: unknown;
  /** When the last run ended, so a status line can say when it was true. */
  at: number | null;
  /** Forget the last outcome (e.g. once something newer explains the state). */
  dismiss: () => void;
}

/** Wraps an async call with pending / result / error state for buttons and forms. */
export function useAction<A extends unknown[], T>(fn: (...args: A) => Promise<T>): Action<A, T> {
  const [pending, setPending] = useState(false);
  const [outcome, setOutcome] = useState<{ result: T | null; failure: unknown; error: string | null; at: number | null }>({
    result: null,
    failure: null,
    error: null,
    at: null,
  });
  const run = useCallback(
    async (...args: A) => {
      setPending(true);
      setOutcome({ result: null, failure: null, error: null, at: null });
      try {
        const r = await fn(...args);
        setOutcome({ result: r, failure: null, error: null, at: Date.now() });
        return r;
      } catch (e) {
        setOutcome({ result: null, failure: e, error: errorText(e), at: Date.now() });
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [fn],
  );
  const dismiss = useCallback(() => setOutcome({ result: null, failure: null, error: null, at: null }), []);
  return { run, pending, ...outcome, dismiss };
}
