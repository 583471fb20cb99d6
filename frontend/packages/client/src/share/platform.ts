// The two browser facilities tabs coordinate with, reduced to what the shared
// stream uses, so tests inject fakes: an exclusive lock per stream (Web Locks:
// whoever holds it is the leader, and the browser hands it to the next tab in
// line when the holder releases it or its tab dies) and a message channel per
// stream (BroadcastChannel: reaches every other tab of the origin).

export interface LocksLike {
  /**
   * Calls `granted` once the lock is ours; it stays ours until the promise `granted`
   * returns settles. Aborting `signal` withdraws a request still waiting.
   */
  request(name: string, signal: AbortSignal, granted: () => Promise<void>): Promise<void>;
}

export interface ChannelLike {
  post(message: unknown): void;
  /** Replaces the listener. Messages are delivered to every other channel of the name, never to the sender. */
  listen(listener: (message: unknown) => void): void;
  close(): void;
}

export interface Platform {
  locks: LocksLike;
  channel(name: string): ChannelLike;
}

/** The browser's Web Locks and BroadcastChannel, or null where either is missing (then streams are not shared across tabs). */
export function browserPlatform(): Platform | null {
  const locks = typeof navigator === 'object' ? (navigator as Partial<Navigator>).locks : undefined;
  if (locks === undefined || typeof BroadcastChannel !== 'function') return null;
  return {
    locks: {
      request: async (name, signal, granted) => {
        await locks.request(name, { signal }, () => granted());
      },
    },
    channel: (name) => {
      const bc = new BroadcastChannel(name);
      return {
        post: (m) => bc.postMessage(m),
        listen: (fn) => {
          bc.onmessage = (ev: MessageEvent<unknown>) => fn(ev.data);
        },
        close: () => bc.close(),
      };
    },
  };
}

/**
 * A 64-bit digest as hex (two 32-bit FNV-1a style hashes with different offsets and
 * primes): names locks and channels after a stream's identity without putting its
 * credential in them (`navigator.locks.query()` lists names). Not a security boundary:
 * only same-origin code sees the names.
 */
export function digest(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193 ^ 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
