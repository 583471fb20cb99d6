// SseClient: one subscription to the hub that never loses an event.
//
// No framework here: useSse (react.ts) is a thin binding. The client is a
// subscriber of a shared stream (share/stream.ts), which holds the actual
// connection (connection.ts) for every client of the same url, clientId and
// credential in the page and, through the leader tab, the browser. The client
// keeps what is its own:
// - its wishes (filter, topics), applied again to what the shared stream brings;
// - its watermark, the highest sequence it has accounted for: anything at or
//   below it is a duplicate and is dropped (sequences only grow, so one number is
//   the whole dedupe set); it starts at the position stored for the client id;
// - what it shows: the bounded event list, counters, status, the last connection,
//   a `reset` (history gone) or `rewound` (hub behind us) notice.
import { ackUrlFor, defaultAck, defaultEventSource, defaultProbe } from './browser.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import type { LinkState, TransportDeps } from './connection.js';
import type { ReceivedEvent } from './events.js';
import { normalizeFilter, normalizeTopics } from './resume.js';
import { wants, type Interest } from './share/interest.js';
import { pageRegistry, privateStream, type StreamRegistry } from './share/registry.js';
import type { Delivery, SharedStream, StreamView, Subscriber } from './share/stream.js';
import { loadPosition } from './storage.js';
import type { SseClientDeps, SseClientOptions, SseSnapshot, StreamRole } from './types.js';

// Status transitions kept for display (the reconnection example's timeline).
const HISTORY_LIMIT = 20;
const DEFAULT_MAX_EVENTS = 500;
// Debounce for POST /api/sse/ack: one write per second at most per client id.
const DEFAULT_ACK_DEBOUNCE_MS = 1000;

interface Normalized {
  url: string;
  clientId: string;
  apiKey: string | undefined;
  token: string | undefined;
  share: boolean;
  resume: boolean;
  maxEvents: number;
  interest: Interest;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

function normalize(o: SseClientOptions): Normalized {
  const resume = o.resume ?? true;
  return {
    url: o.url,
    clientId: o.clientId,
    apiKey: o.apiKey,
    token: o.token,
    share: o.share ?? true,
    resume,
    maxEvents: o.maxEvents ?? DEFAULT_MAX_EVENTS,
    interest: {
      filter: normalizeFilter(o.filter),
      topics: normalizeTopics(o.topics),
      extraTypes: [...new Set(o.extraTypes ?? [])],
      listenAll: o.listenAll ?? true,
      resume,
    },
  };
}

function sameInterest(a: Interest, b: Interest): boolean {
  return sameList(a.filter, b.filter) && sameList(a.topics, b.topics) && sameList(a.extraTypes, b.extraTypes) && a.listenAll === b.listenAll;
}

export class SseClient {
  private opts: Normalized;
  private readonly deps: TransportDeps;
  private readonly registry: StreamRegistry | null;
  private snapshot: SseSnapshot;
  private readonly listeners = new Set<() => void>();
  private stream: SharedStream | null = null;
  /** Highest sequence accounted for (received, filtered out, or before the live start). */
  private watermark: number | null = null;
  /** Whether the watermark comes from this client's own stream (else: restored from storage). */
  private own = false;
  /** The watermark when the current connection started (a `reset` is judged against it). */
  private beforeConnect: number | null = null;
  /** A connection that replays for another subscriber repeats what we have up to here: not duplicates. */
  private replayFor: number | null = null;
  private epoch: string | null = null;
  private connections = 0;
  private readonly member: Subscriber = {
    interest: () => this.opts.interest,
    position: () => (this.opts.resume ? this.watermark : null),
    need: () => (this.opts.resume && this.own ? this.watermark : null),
    attach: (view) => this.onAttach(view),
    deliver: (delivery) => this.onDelivery(delivery),
    link: (state, role) => this.onLink(state, role),
  };

  constructor(options: SseClientOptions, deps: SseClientDeps = {}) {
    this.opts = normalize(options);
    this.deps = {
      eventSource: deps.eventSource ?? defaultEventSource,
      storage: deps.storage ?? { get: () => null, set: () => undefined },
      ack: deps.ack ?? null,
      probe: deps.probe ?? defaultProbe,
      ackDebounceMs: deps.ackDebounceMs ?? DEFAULT_ACK_DEBOUNCE_MS,
      backoff: deps.backoff ?? DEFAULT_BACKOFF,
      random: deps.random ?? Math.random,
      now: deps.now ?? Date.now,
      defaultAck: (t) => defaultAck(ackUrlFor(t.url), t.apiKey, t.token),
    };
    this.registry = deps.registry ?? null;
    this.snapshot = this.freshSnapshot('closed');
  }

  private freshSnapshot(status: SseSnapshot['status']): SseSnapshot {
    const stored = this.opts.resume ? loadPosition(this.deps.storage, this.opts.clientId) : null;
    this.watermark = stored;
    this.own = false;
    this.beforeConnect = null;
    this.replayFor = null;
    this.epoch = null;
    this.connections = 0;
    return {
      status,
      clientId: this.opts.clientId,
      role: null,
      events: [],
      lastSequence: stored,
      node: null,
      error: null,
      reset: null,
      connection: null,
      received: 0,
      duplicates: 0,
      invalid: 0,
      reconnects: 0,
      nextRetryAt: null,
      streamUrl: null,
      history: [],
      rewound: null,
      unnamedFrames: null,
    };
  }

  // ---- the store interface React's useSyncExternalStore wants ----

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SseSnapshot => this.snapshot;

  private update(patch: Partial<SseSnapshot>): void {
    const prev = this.snapshot;
    let next = { ...prev, ...patch };
    if (next.status !== prev.status || next.error !== prev.error) {
      const change = { status: next.status, error: next.error, at: this.deps.now() };
      next = { ...next, history: [...prev.history, change].slice(-HISTORY_LIMIT) };
    }
    this.snapshot = next;
    for (const l of [...this.listeners]) l();
  }

  // ---- lifecycle ----

  /** Opens the stream (idempotent): joins the shared stream of its url, client id and credential. */
  start(): void {
    if (this.stream !== null) return;
    this.update({ status: 'connecting', nextRetryAt: null });
    this.join();
  }

  /** Leaves the stream (the last client to leave closes it and flushes its ack). `start()` resumes later. */
  stop(): void {
    this.leave();
    this.update({ status: 'closed', role: null, nextRetryAt: null });
  }

  /** Drops the current connection and reconnects at once from the stream's position. */
  reconnectNow(): void {
    if (this.stream === null) this.start();
    else this.stream.reconnectNow();
  }

  /** Clears the displayed list and counters (not the position). */
  clear(): void {
    this.update({ events: [], received: 0, duplicates: 0, invalid: 0, reset: null });
  }

  /**
   * Applies new options. A new filter or topics reshape the shared stream (which
   * reconnects from its position if its union changed); a new url or credential
   * moves to another stream; a new clientId starts from that client's own stored
   * position with an empty list.
   */
  setOptions(options: SseClientOptions): void {
    const next = normalize(options);
    const prev = this.opts;
    if (next.maxEvents !== prev.maxEvents) {
      this.opts = { ...prev, maxEvents: next.maxEvents };
      this.update({ events: this.snapshot.events.slice(-next.maxEvents) });
    }
    const freshClient = next.clientId !== prev.clientId || next.resume !== prev.resume;
    const moved = freshClient || next.url !== prev.url || next.apiKey !== prev.apiKey || next.token !== prev.token || next.share !== prev.share;
    if (!moved) {
      this.opts = next;
      if (!sameInterest(next.interest, prev.interest)) this.stream?.changed();
      return;
    }
    const running = this.stream !== null;
    this.leave();
    this.opts = next;
    if (freshClient) this.snapshot = this.freshSnapshot(this.snapshot.status);
    this.update({ clientId: next.clientId });
    if (running) this.join();
  }

  private join(): void {
    const target = { url: this.opts.url, clientId: this.opts.clientId, apiKey: this.opts.apiKey, token: this.opts.token };
    const stream = this.opts.share ? (this.registry ?? pageRegistry()).stream(target, this.deps) : privateStream(target, this.deps);
    this.stream = stream;
    stream.join(this.member);
  }

  private leave(): void {
    const stream = this.stream;
    this.stream = null;
    stream?.leave(this.member);
  }

  // ---- what the shared stream brings ----

  private onLink(state: LinkState, role: StreamRole): void {
    if (this.stream === null) return;
    this.update({ status: state.status, error: state.error, nextRetryAt: state.nextRetryAt, streamUrl: state.streamUrl, role });
  }

  private onAttach(view: StreamView): void {
    if (view.seen !== null && !this.own) {
      // Joining a running stream at its position: what it delivered before is not ours
      // to replay, and what comes after is (so a later restart asks for what it missed).
      this.watermark = Math.max(this.watermark ?? view.seen, view.seen);
      this.own = true;
    }
    const current = view.current;
    if (current !== null && current.epoch !== this.epoch) {
      this.epoch = current.epoch;
      this.connections += 1;
      this.update({ node: current.info.node, reconnects: Math.max(0, this.connections - 1), connection: this.connectionOf(current.info) });
    }
    this.onLink(view.link, view.role);
  }

  private connectionOf(info: Extract<Delivery, { kind: 'connected' }>['info']): SseSnapshot['connection'] {
    return {
      node: info.node,
      clientId: info.clientId,
      resumeFrom: info.resumeFrom ?? null,
      headSequence: info.headSequence ?? null,
      recovered: [],
      topics: info.topics ?? null,
      connectedAt: this.deps.now(),
    };
  }

  private onDelivery(d: Delivery): void {
    if (this.stream === null) return;
    switch (d.kind) {
      case 'connected':
        this.onConnected(d);
        return;
      case 'reset': {
        // Only news if this client had a position and events after it are gone.
        const before = this.beforeConnect;
        if (before === null || before + 1 < d.info.oldestAvailable) {
          this.update({ reset: { requested: before ?? d.info.requested, oldestAvailable: d.info.oldestAvailable, at: this.deps.now() } });
        }
        return;
      }
      case 'event':
        this.onEvent(d);
        return;
    }
  }

  private onConnected(d: Extract<Delivery, { kind: 'connected' }>): void {
    if (d.epoch === this.epoch) return;
    this.epoch = d.epoch;
    this.connections += 1;
    const before = this.watermark;
    this.beforeConnect = before;
    this.replayFor = d.asked !== null && before !== null && d.asked < before ? before : null;
    const resumeFrom = d.info.resumeFrom ?? null;
    let { rewound, lastSequence } = this.snapshot;
    if (resumeFrom !== null) {
      if (d.asked !== null && resumeFrom < d.asked && before !== null && resumeFrom < before) {
        // The hub capped the position at its head: it has fewer events than we
        // saw (a new store, or another hub). Its next sequences are new events,
        // so the watermark must come down or we would drop them all.
        rewound = { from: d.asked, to: resumeFrom, at: this.deps.now() };
        this.watermark = resumeFrom;
        if (lastSequence !== null && lastSequence > resumeFrom) lastSequence = resumeFrom;
      } else if (before === null || resumeFrom > before) {
        // The stream delivers after resumeFrom (a live start, or a reset).
        this.watermark = resumeFrom;
      }
      this.own = true;
    }
    this.update({
      node: d.info.node,
      reconnects: Math.max(0, this.connections - 1),
      rewound,
      lastSequence,
      connection: this.connectionOf(d.info),
    });
  }

  private onEvent(d: Extract<Delivery, { kind: 'event' }>): void {
    if (d.unnamed !== null && d.unnamed !== this.snapshot.unnamedFrames) this.update({ unnamedFrames: d.unnamed });
    const seq = d.sequence;
    const mine = wants(this.opts.interest, d.type, d.topics);
    if (seq !== null && this.watermark !== null && seq <= this.watermark) {
      const replayed = this.replayFor !== null && seq <= this.replayFor;
      if (mine && !replayed) this.update({ duplicates: this.snapshot.duplicates + 1 });
      return;
    }
    if (seq !== null) {
      this.watermark = seq;
      this.own = true;
    }
    if (!mine) return;
    const entry: ReceivedEvent = { sequence: seq, type: d.type, receivedAt: this.deps.now(), parsed: d.parsed };
    const events = [...this.snapshot.events, entry];
    if (events.length > this.opts.maxEvents) events.splice(0, events.length - this.opts.maxEvents);
    const conn = this.snapshot.connection;
    const recovered =
      conn !== null && seq !== null && conn.headSequence !== null && seq <= conn.headSequence && (conn.resumeFrom === null || seq > conn.resumeFrom)
        ? { ...conn, recovered: [...conn.recovered, seq] }
        : conn;
    this.update({
      events,
      lastSequence: seq ?? this.snapshot.lastSequence,
      received: this.snapshot.received + 1,
      invalid: this.snapshot.invalid + (d.parsed.kind === 'invalid' ? 1 : 0),
      connection: recovered,
    });
  }
}
