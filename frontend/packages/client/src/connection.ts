// Connection: the one EventSource of a stream, kept alive without losing an event.
//
// It knows nothing of subscribers: it hands every frame to a sink (the shared
// stream, which fans out locally and to other tabs) and owns the stream position,
// its persistence and its acks. Resume rules (API.md "Subscribing"):
// - A connection starts with `checkpoint=<position>` when there is one (a reload
//   resumes where the last page was; a shared stream may ask for less to replay
//   history a (re)joining subscriber missed).
// - When a live stream drops, the browser's own EventSource retry sends
//   `Last-Event-ID`. We let it do that only when that resumes exactly from our
//   position (a `checkpoint=` in the URL wins over the header on the hub, so
//   after events arrived on a checkpoint URL the browser's retry would be stale).
// - Otherwise, and whenever a retry fails (hub down) or the browser gives up
//   (HTTP error), we close the EventSource and reconnect ourselves after an
//   exponential, jittered backoff with `checkpoint=<position>`. After a refusal the
//   retry first asks the hub why (a probe fetch), and opens the stream only if the
//   hub would take it now.
// - The hub's `resumeFrom` (in `connected`) is the position from then on: nothing
//   at or below it will come (a live start, a reset), and when it is *below* what
//   we asked for the hub has fewer events than we saw (new store), so it must be.
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { parseConnected, parseReset, type ConnectedInfo, type ResetInfo } from './events.js';
import { buildStreamUrl, nativeResumeIsExact } from './resume.js';
import type { StreamShape } from './share/interest.js';
import { savePosition, type KeyValueStore } from './storage.js';
import type { AckFn, EventSourceFactory, EventSourceLike, ProbeFn, SseMessage, SseStatus } from './types.js';

// EventSource.readyState values.
const CONNECTING = 0;
const CLOSED = 2;

/** Where a stream connects and as whom: the identity of a shared stream. */
export interface StreamTarget {
  url: string;
  clientId: string;
  apiKey: string | undefined;
  token: string | undefined;
}

export interface TransportDeps {
  eventSource: EventSourceFactory;
  storage: KeyValueStore;
  /** Null: POST to the stream URL's sibling `/ack`. */
  ack: AckFn | null;
  probe: ProbeFn;
  ackDebounceMs: number;
  backoff: BackoffPolicy;
  random: () => number;
  now: () => number;
  /** Builds the default ack function for a target (browser fetch). */
  defaultAck: (target: StreamTarget) => AckFn;
}

/** The connection's state as subscribers show it. */
export interface LinkState {
  status: SseStatus;
  error: string | null;
  nextRetryAt: number | null;
  streamUrl: string | null;
}

/**
 * A frame as it arrived, before parsing (it crosses tabs as is). `connected` carries
 * the position asked for, so a subscriber can tell a hub that is behind it, and an
 * epoch naming the connection, so it counts each connection once.
 */
export type Frame =
  | { kind: 'connected'; info: ConnectedInfo; asked: number | null; epoch: string }
  | { kind: 'reset'; info: ResetInfo }
  | { kind: 'event'; name: string; data: string; id: string };

export interface ConnectionSink {
  frame(frame: Frame): void;
  state(state: LinkState): void;
}

const decimal = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null);

export class Connection {
  /** Everything at or below this has been handed to the sink (or will never come). */
  position: number | null;
  private wanted: StreamShape | null = null;
  private es: EventSourceLike | null = null;
  private esUrlCheckpoint: number | null = null;
  private esLastId: number | null = null;
  private esOpenedSinceError = false;
  private attempt = 0;
  private connections = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private acked: number | null = null;
  /** The position last stored: a replay for a rejoining subscriber does not move it back. */
  private persisted: number | null = null;
  private probeTicket = 0;
  private link: LinkState = { status: 'closed', error: null, nextRetryAt: null, streamUrl: null };
  private running = false;

  constructor(
    private readonly target: StreamTarget,
    private readonly deps: TransportDeps,
    private readonly sink: ConnectionSink,
    /** Prefix of connection epochs: unique per tab. */
    private readonly epochPrefix: string,
    position: number | null,
  ) {
    this.position = position;
  }

  get state(): LinkState {
    return this.link;
  }

  /** What the connection asks the hub for (null before start). */
  get shape(): StreamShape | null {
    return this.wanted;
  }

  /** Opens the stream with `shape`, from `position` (idempotent while running). */
  start(shape: StreamShape): void {
    this.wanted = shape;
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.open('connecting');
  }

  /** Reconnects at once with `shape`, from `position` (lower than the current one to replay). */
  restart(shape: StreamShape, position: number | null): void {
    this.wanted = shape;
    this.position = position;
    this.reconnectNow();
  }

  reconnectNow(): void {
    if (!this.running) return;
    this.closeSource();
    this.clearRetry();
    this.attempt = 0;
    this.open('reconnecting');
  }

  /** Closes the stream and flushes a pending ack. */
  stop(): void {
    this.running = false;
    this.closeSource();
    this.clearRetry();
    this.flushAck();
    this.setState({ status: 'closed', nextRetryAt: null });
  }

  private setState(patch: Partial<LinkState>): void {
    this.link = { ...this.link, ...patch };
    this.sink.state(this.link);
  }

  /** The URL a connection opened now asks for, and its checkpoint (null before start). */
  private next(): { url: string; checkpoint: number | null } | null {
    const shape = this.wanted;
    if (shape === null) return null;
    const checkpoint = shape.resume ? this.position : null;
    const url = buildStreamUrl(this.target.url, {
      clientId: this.target.clientId,
      filter: shape.filter,
      topics: shape.topics,
      named: shape.named,
      apiKey: this.target.apiKey,
      token: this.target.token,
      checkpoint,
    });
    return { url, checkpoint };
  }

  private open(status: SseStatus): void {
    const shape = this.wanted;
    const next = this.next();
    if (shape === null || next === null) return;
    const { url, checkpoint } = next;
    let es: EventSourceLike;
    try {
      es = this.deps.eventSource(url);
    } catch (e) {
      this.setState({ status: 'error', error: `cannot open stream: ${e instanceof Error ? e.message : String(e)}`, streamUrl: url });
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
      this.setState({ status: 'open', error: null, nextRetryAt: null });
    };
    es.onerror = () => this.onError(es);
    es.addEventListener('connected', (ev) => this.onConnected(es, ev));
    es.addEventListener('reset', (ev) => this.onReset(es, ev));
    for (const name of shape.listenTypes) es.addEventListener(name, (ev) => this.onEvent(es, name, ev));
    this.setState({ status, streamUrl: url, nextRetryAt: null });
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
    const info = parseConnected(ev.data);
    if (info === null) {
      this.setState({ error: `malformed connected frame: ${ev.data}` });
      return;
    }
    this.attempt = 0;
    this.connections += 1;
    const asked = this.esUrlCheckpoint ?? this.esLastId;
    if (typeof info.resumeFrom === 'number') {
      // The stream delivers after resumeFrom: the position even before any event
      // arrives (a live start, a reset), and lower than asked when the hub is behind
      // (then the stored position must come down too).
      this.position = info.resumeFrom;
      this.persist(asked !== null && info.resumeFrom < asked);
    }
    this.sink.frame({ kind: 'connected', info, asked, epoch: `${this.epochPrefix}:${this.connections}` });
    this.setState({ status: 'open', error: null });
  }

  private onReset(es: EventSourceLike, ev: SseMessage): void {
    if (this.es !== es) return;
    const info = parseReset(ev.data);
    if (info === null) {
      this.setState({ error: `malformed reset frame: ${ev.data}` });
      return;
    }
    this.sink.frame({ kind: 'reset', info });
  }

  private onEvent(es: EventSourceLike, name: string, ev: SseMessage): void {
    if (this.es !== es) return;
    const seq = decimal(ev.lastEventId) ?? decimal(/^\{"_sequence":(\d+)/.exec(ev.data)?.[1] ?? '');
    if (seq !== null) {
      this.esLastId = Math.max(this.esLastId ?? 0, seq);
      this.position = Math.max(this.position ?? 0, seq);
    }
    this.sink.frame({ kind: 'event', name, data: ev.data, id: ev.lastEventId });
    if (seq !== null) {
      this.persist();
      this.scheduleAck();
    }
  }

  private onError(es: EventSourceLike): void {
    if (this.es !== es || !this.running) return;
    const wasOpen = this.esOpenedSinceError;
    this.esOpenedSinceError = false;
    const position = this.wanted?.resume === true ? this.position : this.esLastId;
    if (es.readyState === CONNECTING && wasOpen && nativeResumeIsExact(this.esUrlCheckpoint, this.esLastId, position)) {
      // The browser retries by itself with Last-Event-ID = our position.
      this.setState({ status: 'reconnecting', error: 'connection lost; resuming with Last-Event-ID' });
      return;
    }
    // The browser gave up (readyState CLOSED): an HTTP error, or a page being left. The
    // hub's reason is asked for only when the retry is due, never here: Chrome closes a
    // page's EventSource this way when a navigation away commits, just before pagehide,
    // and a probe sent now would reach the hub as one more stream, replaying from the old
    // position into a page that is gone. A timer never fires in a page that has unloaded.
    const refused = es.readyState === CLOSED;
    this.closeSource();
    this.scheduleRetry(
      refused ? 'error' : 'reconnecting',
      refused ? 'the hub refused the stream (HTTP error or not an event stream)' : 'hub unreachable',
      refused,
    );
  }

  /**
   * The retry after a refusal: ask the hub why first (a fetch of the stream URL reads the
   * status and error body, which EventSource cannot). Still refused: show the hub's reason
   * and wait for the next retry, which asks again; accepted (or no answer): open the stream.
   */
  private probeThenOpen(): void {
    const url = this.next()?.url;
    if (url === undefined) return;
    const ticket = this.probeTicket;
    this.setState({ status: 'reconnecting', streamUrl: url, nextRetryAt: null });
    void this.deps
      .probe(url)
      .catch(() => null)
      .then((reason) => {
        if (ticket !== this.probeTicket || !this.running) return;
        if (reason === null) this.open('reconnecting');
        else this.scheduleRetry('error', `the hub refused the stream: ${reason}`, true);
      });
  }

  private scheduleRetry(status: SseStatus, reason: string, probeFirst = false): void {
    this.clearRetry();
    const delay = backoffDelay(this.attempt, this.deps.backoff, this.deps.random);
    this.attempt += 1;
    const at = this.deps.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.running) return;
      if (probeFirst) this.probeThenOpen();
      else this.open('reconnecting');
    }, delay);
    this.setState({ status, nextRetryAt: at, error: `${reason}; retry ${this.attempt} in ${(delay / 1000).toFixed(1)} s` });
  }

  /** Cancels a pending retry, and the answer of a probe in flight. */
  private clearRetry(): void {
    this.probeTicket += 1;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  // ---- position persistence and acks ----

  private persist(lower = false): void {
    const p = this.position;
    if (this.wanted?.resume !== true || p === null || (!lower && this.persisted !== null && p <= this.persisted)) return;
    savePosition(this.deps.storage, this.target.clientId, p);
    this.persisted = p;
  }

  private scheduleAck(): void {
    if (this.wanted?.resume !== true || this.ackTimer !== null) return;
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
    const seq = this.position;
    if (this.wanted?.resume !== true || seq === null || (this.acked !== null && seq <= this.acked)) return;
    const previous = this.acked;
    this.acked = seq;
    const ack = this.deps.ack ?? this.deps.defaultAck(this.target);
    ack(this.target.clientId, seq).catch(() => {
      // Retried with the next event; the hub's checkpoint only moves forward.
      if (this.acked === seq) this.acked = previous;
    });
  }
}
