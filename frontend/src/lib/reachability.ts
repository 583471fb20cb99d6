// When the hub last answered anything. An error line that said "hub unreachable" is
// replaced once the hub answers again, instead of staying on screen as if still true.
const listeners = new Set<() => void>();
let lastAnswerAt: number | null = null;

export const reachability = {
  get: (): number | null => lastAnswerAt,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Called for every HTTP answer, whatever its status. */
  answered(at: number): void {
    lastAnswerAt = at;
    for (const l of [...listeners]) l();
  },
};
