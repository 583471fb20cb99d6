// Exponential backoff with jitter for reconnecting to a hub that is down.

export interface BackoffPolicy {
  /** First delay, before jitter. */
  initialMs: number;
  /** Cap on the un-jittered delay. */
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based). "Equal jitter": half the
 * exponential step plus a random half, so delays grow but many tabs reconnecting
 * after one hub restart spread out, and no delay is ever zero.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const step = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}
