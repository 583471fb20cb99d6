// SseClient: one logical subscription to the hub that never loses an event.
//
// No React here: the class is driven by an injected EventSource factory,
// storage and ack function, so its logic is unit-tested without a DOM.
//
// Resume rules (API.md "Subscribing"):
// - The first connection of a page sends `checkpoint=<stored lastSequence>` when
//   one is stored for this clientId (a reload resumes where the last page was).
// - When a live stream drops, the browser's own EventSource retry sends
//   `Last-Event-ID`. We let it do that only when that resumes exactly from our
//   position (a `checkpoint=` in the URL wins over the header on the server, so
//   after events arrived on a checkpoint URL the browser's retry would be stale).
// - Otherwise, and whenever a retry fails (hub down) or the browser gives up
//   (HTTP error), we close the EventSource and reconnect ourselves after an
//   exponential, jittered backoff with `checkpoint=<lastSequence>`.
// - Events at or below lastSequence are duplicates and are dropped; sequences
//   only grow (the hub's order guarantee), so one number is the whole dedupe set.
// - The hub's `resumeFrom` (in `connected`) is a position too: after a live start
//   or a `reset` nothing at or below it will come. If it is *below* what we asked
//   for, the hub has fewer events than we saw (new store): the watermark comes down.
//
// Pure rules live in sse/resume.ts, the shapes in sse/types.ts, the browser
// defaults (EventSource, fetch-based ack and probe) in sse/browser.ts.
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { connectedSchema, KNOWN_TYPES, parseControl, parseEvent, resetSchema, sequenceOf, type ReceivedEvent } from './events.js';
import { defaultAck, defaultEventSource, defaultProbe } from './browser.js';
import { buildStreamUrl, nativeResumeIsExact, normalizeFilter } from './resume.js';
import type { AckFn, EventSourceLike, SseClientDeps, SseClientOptions, SseMessage, SseSnapshot, SseStatus } from './types.js';
import { loadPosition, savePosition } from './storage.js';

export * from './types.js';
export { buildStreamUrl, nativeResumeIsExact, normalizeFilter } from './resume.js';

// EventSource.readyState values.
const CONNECTING = 0;
const CLOSED = 2;

// Status transitions kept for display (the reconnection example's timeline).
const HISTORY_LIMIT = 20;

const DEFAULT_MAX_EVENTS = 500;
// Debounce for POST /api/sse/ack: one write per second at most per client.
const DEFAULT_ACK_DEBOUNCE_MS = 1000;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class SseClient {
  private opts: Required<Omit<SseClientOptions, 'apiKey' | 'token'>> & { apiKey: string | undefined; token: string | undefined };
  private readonly deps: Required<Omit<SseClientDeps, 'ack'>> & { ack: AckFn | undefined };
  private probeSeq = 0;
  private snapshot: SseSnapshot;
  private readonly listeners = new Set<() => void>();

  private es: EventSourceLike | null = null;
  private esUrlCheckpoint: number | null = null;
  private esLastId: number | null = null;
  private esOpenedSinceError = false;
  /** The hub's `resumeFrom` of this connection: a resume position even before any event arrived. */
  private liveFloor: number | null = null;
  private attempt = 0;
  private connections = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private acked: number | null = null;
  private running = false;

  constructor(options: SseClientOptions, deps: SseClientDeps = {}) {
    this.opts = SseClient.normalize(options);
    this.deps = {
      eventSource: deps.eventSource ?? defaultEventSource,
      storage: deps.storage ?? { get: () => null, set: () => undefined },
      ack: deps.ack,
      probe: deps.probe ?? defaultProbe,
      ackDebounceMs: deps.ackDebounceMs ?? DEFAULT_ACK_DEBOUNCE_MS,
      backoff: deps.backoff ?? DEFAULT_BACKOFF,
      random: deps.random ?? Math.random,
      now: deps.now ?? Date.now,
    };
    this.snapshot = this.freshSnapshot();
  }

  private static normalize(o: SseClientOptions): SseClient['opts'] {
    return {
      url: o.url,
      clientId: o.clientId,
      filter: normalizeFilter(o.filter),
      apiKey: o.apiKey,
      token: o.token,
      resume: o.resume ?? true,
      extraTypes: [...(o.extraTypes ?? [])],
      maxEvents: o.maxEvents ?? DEFAULT_MAX_EVENTS,
    };
  }

  private freshSnapshot(): SseSnapshot {
    const stored = this.opts.resume ? loadPosition(this.deps.storage, this.opts.clientId) : null;
    return {
      status: 'closed',
      clientId: this.opts.clientId,
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

  /** Opens the stream (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.open('connecting');
  }

  /** Closes the stream and flushes a pending ack. `start()` resumes later. */
  stop(): void {
    this.running = false;
    this.closeSource();
    this.clearRetry();
    this.flushAck();
    this.update({ status: 'closed', nextRetryAt: null });
  }

  /** Drops the current connection and reconnects at once from lastSequence. */
  reconnectNow(): void {
    if (!this.running) {
      this.start();
      return;
    }
    this.closeSource();
    this.clearRetry();
    this.attempt = 0;
    this.open('reconnecting');
  }

  /** Clears the displayed list and counters (not the position). */
  clear(): void {
    this.update({ events: [], received: 0, duplicates: 0, invalid: 0, reset: null });
  }

  /**
   * Applies new options; any change reconnects. A new clientId starts from that
   * client's own stored position with an empty list.
   */
  setOptions(options: SseClientOptions): void {
    const next = SseClient.normalize(options);
    const prev = this.opts;
    const changed =
      next.url !== prev.url ||
      next.clientId !== prev.clientId ||
      next.apiKey !== prev.apiKey ||
      next.token !== prev.token ||
      next.resume !== prev.resume ||
      !sameList(next.filter, prev.filter) ||
      !sameList(next.extraTypes, prev.extraTypes);
    if (next.maxEvents !== prev.maxEvents) {
      this.opts = next;
      this.update({ events: this.snapshot.events.slice(-next.maxEvents) });
    }
    if (!changed) return;
    if (next.clientId !== prev.clientId || next.resume !== prev.resume) {
      this.flushAck();
      this.opts = next;
      this.acked = null;
      this.liveFloor = null;
      this.snapshot = { ...this.freshSnapshot(), status: this.snapshot.status };
    } else {
      this.opts = next;
    }
    this.update({ clientId: next.clientId });
    if (this.running) this.reconnectNow();
  }

  // ---- connection ----

  /** Where a connection made now should resume: the last event, or the live head we started at. */
  private position(): number | null {
    const last = this.snapshot.lastSequence;
    if (last === null) return this.liveFloor;
    if (this.liveFloor === null) return last;
    return Math.max(last, this.liveFloor);
  }

  private listenTypes(): string[] {
    const base = this.opts.filter.length > 0 ? this.opts.filter : [...KNOWN_TYPES, ...this.opts.extraTypes];
    return [...new Set(base)];
  }

  private open(status: SseStatus): void {
    const checkpoint = this.opts.resume ? this.position() : null;
    const url = buildStreamUrl(this.opts.url, {
      clientId: this.opts.clientId,
      filter: this.opts.filter,
      apiKey: this.opts.apiKey,
      token: this.opts.token,
      checkpoint,
    });
    let es: EventSourceLike;
    try {
      es = this.deps.eventSource(url);
    } catch (e) {
      this.update({ status: 'error', error: `cannot open stream: ${e instanceof Error ? e.message : String(e)}` });
      this.scheduleRetry('error', 'cannot open stream');
      return;
    }
    this.es = es;
    this.esUrlCheckpoint = checkpoint;
    this.esLastId = null;
    this.esOpenedSinceError = false;
    es.onopen = () => {
      if (this.es !== es) return;
      this.esOpenedSinceError = true;
      this.update({ status: 'open', error: null, nextRetryAt: null });
    };
    es.onerror = () => this.onError(es);
    es.addEventListener('connected', (ev) => this.onConnected(es, ev));
    es.addEventListener('reset', (ev) => this.onReset(es, ev));
    for (const type of this.listenTypes()) {
      es.addEventListener(type, (ev) => this.onEvent(es, type, ev));
    }
    this.update({ status, streamUrl: url, nextRetryAt: null });
  }

  private closeSource(): void {
    if (this.es !== null) {
      this.es.onopen = null;
      this.es.onerror = null;
      this.es.close();
      this.es = null;
    }
  }

  private onConnected(es: EventSourceLike, ev: SseMessage): void {
    if (this.es !== es) return;
    const info = parseControl(connectedSchema, ev.data);
    if (info === null) {
      this.update({ error: `malformed connected frame: ${ev.data}` });
      return;
    }
    this.attempt = 0;
    this.connections += 1;
    const resumeFrom = info.resumeFrom ?? null;
    const head = info.headSequence ?? null;
    const asked = this.esUrlCheckpoint ?? this.esLastId;
    let rewound: SseSnapshot['rewound'] = this.snapshot.rewound;
    if (resumeFrom !== null && this.opts.resume) {
      if (asked !== null && resumeFrom < asked) {
        // The hub capped our position at its head: it has fewer events than we
        // saw (a new store, or another hub). Its next sequences are new events,
        // so the dedupe watermark must come down or we would drop them all.
        rewound = { from: asked, to: resumeFrom, at: this.deps.now() };
        this.update({ lastSequence: resumeFrom });
        this.liveFloor = resumeFrom;
      } else {
        // The stream delivers after resumeFrom: a safe resume position even
        // before any event arrives (a live start, or a reset).
        this.liveFloor = Math.max(this.liveFloor ?? 0, resumeFrom);
      }
      this.persist();
    }
    this.update({
      status: 'open',
      error: null,
      node: info.node,
      reconnects: Math.max(0, this.connections - 1),
      rewound,
      connection: {
        node: info.node,
        clientId: info.clientId,
        resumeFrom,
        headSequence: head,
        recovered: [],
        connectedAt: this.deps.now(),
      },
    });
  }

  private onReset(es: EventSourceLike, ev: SseMessage): void {
    if (this.es !== es) return;
    const info = parseControl(resetSchema, ev.data);
    if (info === null) {
      this.update({ error: `malformed reset frame: ${ev.data}` });
      return;
    }
    this.update({ reset: { ...info, at: this.deps.now() } });
  }

  private onEvent(es: EventSourceLike, type: string, ev: SseMessage): void {
    if (this.es !== es) return;
    const idSeq = /^\d+$/.test(ev.lastEventId) ? Number(ev.lastEventId) : null;
    if (idSeq !== null) this.esLastId = Math.max(this.esLastId ?? 0, idSeq);
    const parsed = parseEvent(type, ev.data, ev.lastEventId);
    const seq = sequenceOf(parsed);
    const last = this.snapshot.lastSequence;
    if (seq !== null && last !== null && seq <= last) {
      this.update({ duplicates: this.snapshot.duplicates + 1 });
      return;
    }
    const entry: ReceivedEvent = { sequence: seq, type, receivedAt: this.deps.now(), parsed };
    const events = [...this.snapshot.events, entry];
    if (events.length > this.opts.maxEvents) events.splice(0, events.length - this.opts.maxEvents);
    const conn = this.snapshot.connection;
    const recovered =
      conn !== null && seq !== null && conn.headSequence !== null && seq <= conn.headSequence && (conn.resumeFrom === null || seq > conn.resumeFrom)
        ? { ...conn, recovered: [...conn.recovered, seq] }
        : conn;
    this.update({
      events,
      lastSequence: seq ?? last,
      received: this.snapshot.received + 1,
      invalid: this.snapshot.invalid + (parsed.kind === 'invalid' ? 1 : 0),
      connection: recovered,
    });
    if (seq !== null) {
      this.persist();
      this.scheduleAck();
    }
  }

  private onError(es: EventSourceLike): void {
    if (this.es !== es || !this.running) return;
    const wasOpen = this.esOpenedSinceError;
    this.esOpenedSinceError = false;
    const position = this.opts.resume ? this.position() : this.esLastId;
    if (es.readyState === CONNECTING && wasOpen && nativeResumeIsExact(this.esUrlCheckpoint, this.esLastId, position)) {
      // The browser retries by itself with Last-Event-ID = our position.
      this.update({ status: 'reconnecting', error: 'connection lost; resuming with Last-Event-ID' });
      return;
    }
    const gaveUp = es.readyState === CLOSED;
    this.closeSource();
    this.scheduleRetry(
      gaveUp ? 'error' : 'reconnecting',
      gaveUp ? 'the hub refused the stream (HTTP error or not an event stream)' : 'hub unreachable',
    );
    if (gaveUp) this.explainRefusal();
  }

  /** Replaces the generic refusal message with the hub's own (e.g. 401 missing key). */
  private explainRefusal(): void {
    const ticket = ++this.probeSeq;
    const url = this.snapshot.streamUrl;
    if (url === null) return;
    void this.deps.probe(url).then((reason) => {
      if (reason === null || ticket !== this.probeSeq || this.snapshot.status !== 'error') return;
      const retry = this.snapshot.error?.match(/; retry .*$/)?.[0] ?? '';
      this.update({ error: `the hub refused the stream: ${reason}${retry}` });
    });
  }

  private scheduleRetry(status: SseStatus, reason: string): void {
    this.clearRetry();
    const delay = backoffDelay(this.attempt, this.deps.backoff, this.deps.random);
    this.attempt += 1;
    const at = this.deps.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.running) this.open('reconnecting');
    }, delay);
    this.update({
      status,
      nextRetryAt: at,
      error: `${reason}; retry ${this.attempt} in ${(delay / 1000).toFixed(1)} s`,
    });
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  // ---- position persistence and acks ----

  private persist(): void {
    if (!this.opts.resume) return;
    const pos = this.position();
    if (pos !== null) savePosition(this.deps.storage, this.opts.clientId, pos);
  }

  private ackFn(): AckFn {
    return this.deps.ack ?? defaultAck(this.opts.url.replace(/\/connect(\?.*)?$/, '/ack'), this.opts.apiKey, this.opts.token);
  }

  private scheduleAck(): void {
    if (!this.opts.resume || this.ackTimer !== null) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      this.flushAck();
    }, this.deps.ackDebounceMs);
  }

  private flushAck(): void {
    if (this.ackTimer !== null) {
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
    const seq = this.snapshot.lastSequence;
    if (!this.opts.resume || seq === null || (this.acked !== null && seq <= this.acked)) return;
    const previous = this.acked;
    this.acked = seq;
    const clientId = this.opts.clientId;
    this.ackFn()(clientId, seq).catch(() => {
      // Retried with the next event; the hub's checkpoint only moves forward.
      if (this.acked === seq) this.acked = previous;
    });
  }
}
