// A browser without a DOM: tabs that share one fake Web Locks manager and one fake
// BroadcastChannel bus (both deliver asynchronously, as the browser does), and a fake
// hub that serves the FakeEventSources they open with the hub's resume rules.
import type { ChannelLike, LocksLike, Platform } from '../src/index.js';
import { SseClient, StreamRegistry, type AckFn, type SseClientOptions } from '../src/index.js';
import { memoryStore, type KeyValueStore } from '../src/storage.js';
import { FakeEventSource } from './fakeEventSource.js';

interface Waiter {
  owner: string;
  granted: () => Promise<void>;
  done: () => void;
}

/** Exclusive locks by name, granted in request order; a dead tab's locks pass on. */
export class FakeLocks {
  private readonly held = new Map<string, Waiter>();
  private readonly queues = new Map<string, Waiter[]>();

  holder(name: string): string | undefined {
    return this.held.get(name)?.owner;
  }

  forTab(owner: string): LocksLike {
    return {
      request: (name, signal, granted) =>
        new Promise<void>((resolve, reject) => {
          const waiter: Waiter = { owner, granted, done: resolve };
          signal.addEventListener('abort', () => {
            const queue = this.queues.get(name) ?? [];
            const i = queue.indexOf(waiter);
            if (i >= 0) {
              queue.splice(i, 1);
              reject(new Error('AbortError'));
            }
          });
          this.queues.set(name, [...(this.queues.get(name) ?? []), waiter]);
          this.pump(name);
        }),
    };
  }

  /** The tab died: its locks are released and its requests withdrawn, whatever its callbacks do. */
  releaseAll(owner: string): void {
    for (const [name, queue] of this.queues) this.queues.set(name, queue.filter((w) => w.owner !== owner));
    for (const [name, w] of [...this.held]) {
      if (w.owner === owner) {
        this.held.delete(name);
        this.pump(name);
      }
    }
  }

  private pump(name: string): void {
    if (this.held.has(name)) return;
    const next = this.queues.get(name)?.shift();
    if (next === undefined) return;
    this.held.set(name, next);
    queueMicrotask(() => {
      void next
        .granted()
        .finally(() => {
          if (this.held.get(name) !== next) return;
          this.held.delete(name);
          next.done();
          this.pump(name);
        });
    });
  }
}

/** BroadcastChannel: a message reaches every other open channel of its name, later, as a clone. */
export class FakeBus {
  private readonly channels = new Map<string, Set<{ owner: string; listener: ((m: unknown) => void) | null; open: boolean }>>();
  /** Every message posted, for assertions. */
  readonly log: { owner: string; message: unknown }[] = [];
  /** Tabs whose incoming messages are lost (to test recovery from a tab that saw less). */
  readonly deaf = new Set<string>();

  forTab(owner: string): (name: string) => ChannelLike {
    return (name) => {
      const me = { owner, listener: null as ((m: unknown) => void) | null, open: true };
      const peers = this.channels.get(name) ?? new Set();
      peers.add(me);
      this.channels.set(name, peers);
      return {
        post: (message) => {
          if (!me.open) return;
          this.log.push({ owner, message });
          for (const other of peers) {
            if (other === me || this.deaf.has(other.owner)) continue;
            const copy = structuredClone(message);
            queueMicrotask(() => {
              if (other.open) other.listener?.(copy);
            });
          }
        },
        listen: (listener) => {
          me.listener = listener;
        },
        close: () => {
          me.open = false;
          peers.delete(me);
        },
      };
    };
  }

  closeAll(owner: string): void {
    for (const peers of this.channels.values()) {
      for (const ch of [...peers]) {
        if (ch.owner === owner) {
          ch.open = false;
          peers.delete(ch);
        }
      }
    }
  }
}

/** One event the fake hub holds. */
interface Held {
  seq: number;
  type: string;
  topics: string[];
  fields: Record<string, unknown>;
}

/** The hub side: accepts streams, replays after their position, and fans out publishes. */
export class FakeHub {
  readonly events: Held[] = [];

  get head(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  /** Opens `es` as the hub would: `connected`, then the replay after its checkpoint. */
  accept(es: FakeEventSource): void {
    const cp = es.params.get('checkpoint');
    const from = cp !== null ? Math.min(Number(cp), this.head) : this.head;
    es.open({ headSequence: this.head, resumeFrom: from });
    for (const e of this.events) if (e.seq > from && this.passes(es, e)) es.event(e.seq, e.type, { ...e.fields, ...(e.topics.length > 0 ? { topics: e.topics } : {}) });
  }

  /** Accepts every stream opened and not yet served. */
  acceptPending(): void {
    for (const es of FakeEventSource.live()) if (es.readyState === 0) this.accept(es);
  }

  publish(type = 'message', topics: string[] = [], fields: Record<string, unknown> = { data: 'x' }): number {
    const held = { seq: this.head + 1, type, topics, fields };
    this.events.push(held);
    for (const es of FakeEventSource.live()) {
      if (es.readyState === 1 && this.passes(es, held)) es.event(held.seq, type, { ...fields, ...(topics.length > 0 ? { topics } : {}) });
    }
    return held.seq;
  }

  private passes(es: FakeEventSource, e: Held): boolean {
    const filter = (es.params.get('filter') ?? '').split(',').filter((t) => t !== '');
    if (filter.length > 0 && !filter.some((f) => f.toLowerCase() === e.type.toLowerCase())) return false;
    if (e.topics.length === 0) return true;
    const selectors = es.params.getAll('topic');
    return e.topics.some((t) => selectors.some((s) => (s.endsWith('*') ? t.startsWith(s.slice(0, -1)) : s === t)));
  }
}

/** A tab: its own page registry and ack log, the browser's locks and channels. */
export class FakeTab {
  readonly registry: StreamRegistry;
  readonly acks: [string, number][] = [];
  private readonly clients: SseClient[] = [];

  constructor(
    readonly id: string,
    private readonly browser: FakeBrowser,
    platform: Platform | null,
  ) {
    this.registry = new StreamRegistry(platform, id);
  }

  client(options: Partial<SseClientOptions> = {}): SseClient {
    const ack: AckFn = (clientId, sequence) => {
      this.acks.push([clientId, sequence]);
      return Promise.resolve();
    };
    const client = new SseClient(
      { url: '/api/sse/connect', clientId: 'web-1', ...options },
      {
        eventSource: (url) => new FakeEventSource(url, this.id),
        storage: this.browser.storage,
        ack,
        probe: () => Promise.resolve(null),
        ackDebounceMs: 200,
        backoff: { initialMs: 100, maxMs: 1600, factor: 2 },
        random: () => 1,
        registry: this.registry,
      },
    );
    this.clients.push(client);
    return client;
  }

  /** Closed by the user: pagehide (leaders flush and hand over), then the page and its streams die. */
  close(): void {
    this.registry.suspend();
    this.crash();
  }

  /** Into the back/forward cache (pagehide) and back (pageshow, persisted). */
  hide(): void {
    this.registry.suspend();
  }

  show(): void {
    this.registry.resume();
  }

  /** Gone without pagehide: its EventSources, channels and locks simply die. */
  crash(): void {
    for (const es of FakeEventSource.live()) if (es.tab === this.id) es.close();
    this.browser.bus.closeAll(this.id);
    this.browser.locks.releaseAll(this.id);
  }
}

export class FakeBrowser {
  readonly locks = new FakeLocks();
  readonly bus = new FakeBus();
  /** localStorage: one per origin, shared by the tabs. */
  readonly storage: KeyValueStore & { data: Map<string, string> } = memoryStore();
  private tabs = 0;

  /** A tab; `shared: false` models a browser without Web Locks or BroadcastChannel. */
  tab(shared = true): FakeTab {
    const id = `tab${++this.tabs}`;
    return new FakeTab(id, this, shared ? { locks: this.locks.forTab(id), channel: this.bus.forTab(id) } : null);
  }
}
