// StreamRegistry: this page's shared streams, one per (url, clientId, credential).
// The page has one (pageRegistry); tests make one per fake tab.
import type { StreamTarget, TransportDeps } from '../connection.js';
import { browserPlatform, digest, type Platform } from './platform.js';
import { PROTOCOL } from './protocol.js';
import { SharedStream } from './stream.js';

function randomTabId(): string {
  const c = globalThis.crypto;
  if (c !== undefined && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** The identity of a stream: who connects where, with which credential. */
export function streamKey(target: StreamTarget): string {
  const base = typeof location === 'object' ? new URL(target.url, location.href).href : target.url;
  return JSON.stringify([base, target.clientId, target.apiKey ?? '', target.token ?? '']);
}

export class StreamRegistry {
  private readonly streams = new Map<string, SharedStream>();

  /** `platform` null: streams are shared within this page only. */
  constructor(
    private readonly platform: Platform | null,
    readonly tabId: string = randomTabId(),
  ) {}

  /** The shared stream of `target`, created with `deps` by its first subscriber. */
  stream(target: StreamTarget, deps: TransportDeps): SharedStream {
    const key = streamKey(target);
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = new SharedStream(target, deps, this.platform, this.tabId, `ssehub:${PROTOCOL}:${digest(key)}`, (idle) => {
        if (this.streams.get(key) === idle) this.streams.delete(key);
      });
      this.streams.set(key, stream);
    }
    return stream;
  }

  /** The page is hidden (pagehide): leaders flush their acks and hand over at once. */
  suspend(): void {
    for (const stream of [...this.streams.values()]) stream.suspend();
  }

  /** The page is shown again from the back/forward cache: its clients join their streams again. */
  resume(): void {
    for (const stream of [...this.streams.values()]) stream.resume();
  }
}

let page: StreamRegistry | null = null;

/** This page's registry: tabs coordinate through Web Locks and BroadcastChannel where both exist. */
export function pageRegistry(): StreamRegistry {
  if (page === null) {
    const registry = new StreamRegistry(browserPlatform());
    if (typeof addEventListener === 'function') {
      addEventListener('pagehide', () => registry.suspend());
      addEventListener('pageshow', (e: PageTransitionEvent) => {
        if (e.persisted) registry.resume();
      });
    }
    page = registry;
  }
  return page;
}

/** A stream of its own for one client (`share: false`). */
export function privateStream(target: StreamTarget, deps: TransportDeps): SharedStream {
  return new SharedStream(target, deps, null, randomTabId(), 'ssehub:private', () => undefined);
}
