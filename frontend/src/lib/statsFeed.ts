// The operator console's one poll of GET /api/sse/stats, shared by its pages.
//
// It runs while any console page is open (reference counted), every POLL_MS while the hub
// answers and backing off while it does not, and keeps the readings of the last
// WINDOW_MS for the live chart, so moving between console pages keeps the history.
// Counters come from stats (CONTRACT-NEXT item 2); a hub without them is read from its
// /metrics text instead (this node only).
import { hubApi, type Stats } from './api';
import { Poller, type PollSnapshot } from './poller';
import { countersFromMetrics, countersOf, type NodeReport, type Reading } from './rates';

export const POLL_MS = 2000;
const MAX_POLL_MS = 30_000;
/** How far back the chart reaches. */
export const WINDOW_MS = 5 * 60_000;

export interface StatsSample {
  stats: Stats;
  reading: Reading | null;
}

export interface FeedState {
  poll: PollSnapshot<StatsSample>;
  readings: readonly Reading[];
  /** Per node: its last two distinct reports (by `seenAt`), oldest first. */
  reports: ReadonlyMap<string, readonly NodeReport[]>;
}

async function metricsText(): Promise<string | null> {
  try {
    const res = await fetch('/metrics');
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

async function sample(apiKey: string): Promise<StatsSample> {
  const stats = await hubApi(apiKey).stats();
  const at = Date.now();
  const own = countersOf(stats);
  if (own !== null) return { stats, reading: { at, ...own } };
  const text = await metricsText();
  if (text === null) return { stats, reading: null };
  return { stats, reading: { at, scope: 'metrics', counters: countersFromMetrics(text, stats.connections) } };
}

function remember(reports: Map<string, readonly NodeReport[]>, s: StatsSample, at: number): Map<string, readonly NodeReport[]> {
  const next = new Map(reports);
  for (const n of s.stats.nodes ?? []) {
    const seen = n.seenAt === undefined ? at : Date.parse(n.seenAt);
    const have = next.get(n.node) ?? [];
    const last = have.at(-1);
    if (last !== undefined && last.at === seen) continue;
    next.set(n.node, [...have, { at: seen, stats: n }].slice(-2));
  }
  return next;
}

class Feed {
  private poller: Poller<StatsSample> | null = null;
  private apiKey = '';
  private users = 0;
  private state: FeedState;
  private readonly listeners = new Set<() => void>();

  constructor() {
    this.state = { poll: { data: null, error: null, updatedAt: null, failingSince: null, failures: 0, nextAt: null }, readings: [], reports: new Map() };
  }

  getState = (): FeedState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  refresh = (): void => this.poller?.refresh();

  /** A console page opens (with the current key); returns its release. */
  use(apiKey: string): () => void {
    this.users += 1;
    if (this.poller === null || apiKey !== this.apiKey) this.restart(apiKey);
    return () => {
      this.users -= 1;
      if (this.users === 0) {
        this.poller?.stop();
        this.poller = null;
      }
    };
  }

  private restart(apiKey: string): void {
    this.poller?.stop();
    this.apiKey = apiKey;
    const poller = new Poller(() => sample(apiKey), { everyMs: POLL_MS, maxMs: MAX_POLL_MS });
    poller.subscribe(() => this.onPoll(poller));
    this.poller = poller;
    poller.start();
  }

  private onPoll(poller: Poller<StatsSample>): void {
    if (poller !== this.poller) return;
    const poll = poller.getSnapshot();
    let { readings, reports } = this.state;
    const fresh = poll.data !== null && poll.data !== this.state.poll.data ? poll.data : null;
    if (fresh !== null) {
      const at = poll.updatedAt ?? Date.now();
      if (fresh.reading !== null) readings = [...readings, fresh.reading].filter((r) => r.at >= at - WINDOW_MS);
      reports = remember(new Map(reports), fresh, at);
    }
    this.state = { poll, readings, reports };
    for (const l of [...this.listeners]) l();
  }
}

export const statsFeed = new Feed();
