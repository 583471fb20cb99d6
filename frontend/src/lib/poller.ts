// Polls one loader: at a steady interval while it succeeds, backing off while it fails.
//
// No React here (usePolling binds it). The last good value is kept with its time, so a
// page can show it as stale (with that time) while the hub does not answer, instead of
// either blanking the page or pretending the old numbers are current.

export interface PollSnapshot<T> {
  data: T | null;
  /** The last failure, cleared by the next success. */
  error: unknown;
  /** When `data` was fetched (ms since epoch). */
  updatedAt: number | null;
  /** When the current run of failures began; null while the last attempt succeeded. */
  failingSince: number | null;
  /** Consecutive failures. */
  failures: number;
  /** When the next attempt is due. */
  nextAt: number | null;
}

export interface PollerOptions {
  /** Interval while the loader succeeds. */
  everyMs: number;
  /** Cap of the backed-off interval while it fails. */
  maxMs?: number;
  now?: () => number;
}

/** Delay after `failures` consecutive failures: doubling from the interval up to the cap. */
export function pollDelay(everyMs: number, maxMs: number, failures: number): number {
  return Math.min(maxMs, everyMs * 2 ** Math.min(failures, 16));
}

export class Poller<T> {
  private snap: PollSnapshot<T> = { data: null, error: null, updatedAt: null, failingSince: null, failures: 0, nextAt: null };
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  /** Bumped by stop() and refresh(), so a late answer of an older attempt is ignored. */
  private generation = 0;
  private readonly maxMs: number;
  private readonly now: () => number;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly opts: PollerOptions,
  ) {
    this.maxMs = opts.maxMs ?? Math.max(opts.everyMs, 30_000);
    this.now = opts.now ?? Date.now;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): PollSnapshot<T> => this.snap;

  private update(patch: Partial<PollSnapshot<T>>): void {
    this.snap = { ...this.snap, ...patch };
    for (const l of [...this.listeners]) l();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.attempt();
  }

  stop(): void {
    this.running = false;
    this.generation += 1;
    this.clearTimer();
  }

  /** Polls now (and resets the backoff's clock to this attempt). */
  refresh = (): void => {
    if (!this.running) return;
    this.generation += 1;
    this.clearTimer();
    void this.attempt();
  };

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private schedule(delay: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attempt();
    }, delay);
    this.update({ nextAt: this.now() + delay });
  }

  private async attempt(): Promise<void> {
    const gen = this.generation;
    try {
      const data = await this.load();
      if (gen !== this.generation || !this.running) return;
      this.update({ data, error: null, updatedAt: this.now(), failingSince: null, failures: 0 });
      this.schedule(this.opts.everyMs);
    } catch (error) {
      if (gen !== this.generation || !this.running) return;
      const failures = this.snap.failures + 1;
      this.update({ error, failures, failingSince: this.snap.failingSince ?? this.now() });
      this.schedule(pollDelay(this.opts.everyMs, this.maxMs, failures));
    }
  }
}
