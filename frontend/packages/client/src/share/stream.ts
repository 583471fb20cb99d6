// SharedStream: one hub stream for every subscriber of one (url, clientId,
// credential) in this tab, and, where the browser has Web Locks and
// BroadcastChannel, in every tab of the browser.
//
// The tab that holds the stream's lock is the leader: it alone has an EventSource
// (a Connection), persists the position and acks it. It hands every frame to its
// own subscribers and posts it on the channel, where every other tab (a follower,
// waiting in line for the lock) hands it to its subscribers. Each subscriber
// filters for itself and drops what it already has by sequence, so the shared
// connection asks for the union of everyone's filters and topics.
//
// Positions, so that nobody misses or repeats an event:
// - A subscriber that (re)joins with events of its own behind the stream's
//   position needs them replayed: the leader reconnects from there (`need`).
// - When the leader goes (its tab closed, or its last subscriber left), the lock
//   passes to the next tab, which resumes from the last sequence it saw; the
//   others answer its `leader` message with what they saw, and one that saw less
//   makes it reconnect from there (`seen`).
// - Replays reach everyone; subscribers drop what they already have.
import { Connection, type Frame, type LinkState, type StreamTarget, type TransportDeps } from '../connection.js';
import { parseEvent, sequenceOf, topicsOf, type ConnectedInfo, type ParsedEvent, type ResetInfo } from '../events.js';
import type { StreamRole } from '../types.js';
import { sameShape, unionOf, type Interest } from './interest.js';
import type { ChannelLike, Platform } from './platform.js';
import { asMessage, type ConnectedFrame, type Message } from './protocol.js';

/** A frame as subscribers get it: events parsed once per tab. */
export type Delivery =
  | { kind: 'connected'; info: ConnectedInfo; asked: number | null; epoch: string }
  | { kind: 'reset'; info: ResetInfo }
  | { kind: 'event'; sequence: number | null; type: string; topics: readonly string[]; parsed: ParsedEvent; unnamed: boolean | null };

/** What a subscriber sees of the stream when it joins (and when a follower tab learns it). */
export interface StreamView {
  link: LinkState;
  role: StreamRole;
  current: ConnectedFrame | null;
  /** The last position this tab saw delivered; null if it saw none yet. */
  seen: number | null;
}

export interface Subscriber {
  interest(): Interest;
  /** Its position (own or restored from storage), for a stream starting afresh; null: none. */
  position(): number | null;
  /** Its position if it comes from events it received itself: a replay it may need. */
  need(): number | null;
  attach(view: StreamView): void;
  deliver(delivery: Delivery): void;
  link(state: LinkState, role: StreamRole): void;
}

const CONNECTING: LinkState = { status: 'connecting', error: null, nextRetryAt: null, streamUrl: null };
const min = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));
const max = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

let connectionSerial = 0;

export class SharedStream {
  private readonly subs = new Set<Subscriber>();
  /** Interests of the other tabs' subscribers, by tab. */
  private readonly peers = new Map<string, Interest[]>();
  private conn: Connection | null = null;
  private leader = false;
  private channel: ChannelLike | null = null;
  private link: LinkState = CONNECTING;
  private current: ConnectedFrame | null = null;
  private seen: number | null = null;
  /** Where the leader's first connection started: a follower that saw less missed something. */
  private takeoverStart: number | null = null;
  /** The lowest position a follower asked to replay from, until the next sync. */
  private pendingRewind: number | null = null;
  private generation = 0;
  private lockAbort: AbortController | null = null;
  private releaseLock: (() => void) | null = null;
  private syncQueued = false;
  private helloDue = false;
  private lastHello = '';
  private needSent: number | null = null;
  /** Subscribers of a page in the back/forward cache: they join again when it is shown. */
  private suspended: Subscriber[] = [];

  constructor(
    private readonly target: StreamTarget,
    private readonly deps: TransportDeps,
    private readonly platform: Platform | null,
    private readonly tab: string,
    /** Lock and channel name. */
    readonly name: string,
    private readonly onIdle: (stream: SharedStream) => void,
  ) {}

  get role(): StreamRole {
    return this.platform === null ? 'solo' : this.leader ? 'leader' : 'follower';
  }

  join(sub: Subscriber): void {
    if (this.suspended.length > 0) this.resume();
    if (this.subs.has(sub)) return;
    this.subs.add(sub);
    if (this.subs.size === 1) this.activate();
    sub.attach(this.view());
    this.schedule();
  }

  leave(sub: Subscriber): void {
    if (this.suspended.includes(sub)) {
      this.suspended = this.suspended.filter((s) => s !== sub);
      if (this.suspended.length === 0) this.onIdle(this);
      return;
    }
    if (!this.subs.delete(sub)) return;
    if (this.subs.size === 0) this.deactivate();
    else this.schedule();
  }

  /** A subscriber's interest or position changed. */
  changed(): void {
    this.schedule();
  }

  reconnectNow(): void {
    if (this.leader) this.conn?.reconnectNow();
    else this.post({ t: 'reconnect', tab: this.tab });
  }

  /**
   * The page is hidden for good or for the back/forward cache (pagehide): flush the ack,
   * say goodbye and let the next tab lead at once; `resume` joins everyone again.
   */
  suspend(): void {
    if (this.subs.size === 0) return;
    const subs = [...this.subs];
    this.deactivate(false);
    this.suspended = subs;
  }

  /** The page is shown again from the back/forward cache. */
  resume(): void {
    const subs = this.suspended;
    this.suspended = [];
    for (const s of subs) this.join(s);
  }

  private view(): StreamView {
    return { link: this.link, role: this.role, current: this.current, seen: this.seen };
  }

  // ---- activity and leadership ----

  private activate(): void {
    this.generation += 1;
    this.link = CONNECTING;
    if (this.platform === null) {
      this.leader = true;
      return;
    }
    const channel = this.platform.channel(this.name);
    channel.listen((raw) => {
      const m = asMessage(raw);
      if (m !== null && m.tab !== this.tab && this.channel === channel) this.onMessage(m);
    });
    this.channel = channel;
    const generation = this.generation;
    const abort = new AbortController();
    this.lockAbort = abort;
    this.platform.locks
      .request(this.name, abort.signal, () => {
        if (generation !== this.generation) return Promise.resolve();
        return new Promise<void>((release) => {
          this.releaseLock = release;
          this.becomeLeader();
        });
      })
      .catch(() => undefined); // withdrawn (abort) before it was granted
  }

  private deactivate(idle = true): void {
    this.generation += 1;
    this.subs.clear();
    const conn = this.conn;
    this.conn = null;
    this.leader = false;
    conn?.stop(); // flushes the ack; its state no longer reaches anyone
    this.post({ t: 'hello', tab: this.tab, interests: [], need: null, seen: null });
    this.channel?.close();
    this.channel = null;
    this.lockAbort?.abort();
    this.lockAbort = null;
    this.releaseLock?.();
    this.releaseLock = null;
    this.peers.clear();
    this.link = CONNECTING;
    this.current = null;
    this.seen = null;
    this.takeoverStart = null;
    this.pendingRewind = null;
    this.lastHello = '';
    this.needSent = null;
    if (idle) this.onIdle(this);
  }

  private becomeLeader(): void {
    this.leader = true;
    this.post({ t: 'leader', tab: this.tab });
    for (const s of this.subs) s.link(this.link, 'leader');
    this.schedule();
  }

  // ---- deciding what the connection asks for ----

  private schedule(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    // One decision per turn of the event loop: hooks mounted together open one connection.
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  private sync(): void {
    if (this.subs.size === 0) return;
    const local = [...this.subs];
    const interests = local.map((s) => s.interest());
    if (!this.leader) {
      this.hello(interests, this.localNeed(local));
      return;
    }
    const shape = unionOf([...interests, ...[...this.peers.values()].flat()]);
    const need = min(this.localNeed(local), this.pendingRewind);
    this.pendingRewind = null;
    const conn = this.conn;
    if (conn === null) {
      const start = this.seen !== null ? min(this.seen, need) : min(this.lowestPosition(local), need);
      this.takeoverStart = start;
      const fresh = new Connection(this.target, this.deps, this.sink(), `${this.tab}.${++connectionSerial}`, start);
      this.conn = fresh;
      fresh.start(shape);
    } else if (need !== null && (conn.position === null || need < conn.position)) {
      conn.restart(shape, need);
    } else if (conn.shape === null || !sameShape(shape, conn.shape)) {
      conn.restart(shape, conn.position);
    }
  }

  /** The lowest position local subscribers hold from events of their own, below what this tab saw. */
  private localNeed(local: readonly Subscriber[]): number | null {
    let need: number | null = null;
    for (const s of local) {
      const n = s.need();
      if (n !== null && (this.seen === null || n < this.seen)) need = min(need, n);
    }
    return need;
  }

  private lowestPosition(local: readonly Subscriber[]): number | null {
    let low: number | null = null;
    for (const s of local) low = min(low, s.position());
    return low;
  }

  private hello(interests: Interest[], need: number | null): void {
    const key = JSON.stringify(interests);
    const newNeed = need !== null && (this.needSent === null || need < this.needSent);
    this.needSent = need === null ? null : min(this.needSent, need);
    if (!this.helloDue && key === this.lastHello && !newNeed) return;
    this.helloDue = false;
    this.lastHello = key;
    this.post({ t: 'hello', tab: this.tab, interests, need, seen: this.seen });
  }

  // ---- frames, from our connection or the leader's ----

  private sink() {
    return {
      frame: (frame: Frame) => {
        if (!this.leader) return;
        this.post({ t: 'frame', tab: this.tab, frame });
        this.fanOut(frame);
      },
      state: (state: LinkState) => {
        if (!this.leader) return;
        this.link = state;
        this.post({ t: 'state', tab: this.tab, link: state, current: this.current, position: this.conn?.position ?? null });
        for (const s of this.subs) s.link(state, this.role);
      },
    };
  }

  private fanOut(frame: Frame): void {
    let delivery: Delivery;
    if (frame.kind === 'event') {
      const parsed = parseEvent(frame.name, frame.data, frame.id);
      const sequence = sequenceOf(parsed);
      this.seen = max(this.seen, sequence);
      const type = parsed.kind === 'invalid' ? parsed.type : parsed.event.type;
      // Only a type other than `message` tells whether its frame came with an `event:` line.
      const unnamed = type === 'message' ? null : frame.name === 'message';
      delivery = { kind: 'event', sequence, type, topics: topicsOf(parsed), parsed, unnamed };
    } else {
      if (frame.kind === 'connected') {
        this.current = frame;
        this.seen = max(this.seen, frame.info.resumeFrom ?? null);
      }
      delivery = frame;
    }
    for (const s of [...this.subs]) s.deliver(delivery);
  }

  // ---- the channel ----

  private post(message: Message): void {
    this.channel?.post(message);
  }

  private onMessage(m: Message): void {
    switch (m.t) {
      case 'hello': {
        if (m.interests.length === 0) {
          this.peers.delete(m.tab);
        } else {
          if (!this.peers.has(m.tab)) this.helloDue = true; // a newcomer learns our interests too
          this.peers.set(m.tab, m.interests);
        }
        if (this.leader) this.answer(m);
        this.schedule();
        return;
      }
      case 'leader':
        this.helloDue = true;
        this.schedule();
        return;
      case 'frame':
        if (!this.leader) this.fanOut(m.frame);
        return;
      case 'state':
        if (this.leader) return;
        // Everything up to the leader's position was delivered before this state or
        // before this tab listened: a subscriber joined at it (frames after it follow).
        this.link = m.link;
        this.seen = max(this.seen, m.position);
        if (m.current !== null) this.current = m.current;
        for (const s of [...this.subs]) s.attach(this.view());
        return;
      case 'reconnect':
        if (this.leader) this.conn?.reconnectNow();
        return;
    }
  }

  /** The leader's side of a hello: replay what the tab misses, and tell it the state. */
  private answer(m: Extract<Message, { t: 'hello' }>): void {
    const position = this.conn?.position ?? null;
    const behind = (p: number | null): boolean => p !== null && (position === null || p < position);
    if (behind(m.need)) this.pendingRewind = min(this.pendingRewind, m.need);
    if (m.seen !== null && this.takeoverStart !== null && m.seen < this.takeoverStart && behind(m.seen)) {
      this.pendingRewind = min(this.pendingRewind, m.seen);
    }
    if (m.interests.length > 0) this.post({ t: 'state', tab: this.tab, link: this.link, current: this.current, position });
  }
}
