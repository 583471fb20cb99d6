// The shapes SseClient works with: its options, injected dependencies, the
// minimal EventSource surface it needs, and the snapshot a UI renders.
import type { BackoffPolicy } from './backoff.js';
import type { ReceivedEvent, ResetInfo } from './events.js';
import type { StreamRegistry } from './share/registry.js';
import type { KeyValueStore } from './storage.js';

export type SseStatus = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error';

/**
 * Who holds the hub connection this client reads: this tab (`leader`), another tab
 * of the browser (`follower`, events arrive over a BroadcastChannel), or this client
 * alone (`solo`: `share: false`, or no Web Locks / BroadcastChannel). Null while stopped.
 */
export type StreamRole = 'leader' | 'follower' | 'solo';

/** The part of `MessageEvent` the client reads. */
export interface SseMessage {
  readonly data: string;
  readonly lastEventId: string;
}

/** The part of the browser's `EventSource` the client uses (so tests can fake it). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;
export type AckFn = (clientId: string, sequence: number) => Promise<void>;
/** Finds out why the hub refused a stream URL (EventSource cannot tell): a short reason, or null. */
export type ProbeFn = (url: string) => Promise<string | null>;

export interface SseClientOptions {
  /** Stream endpoint, e.g. `/api/sse/connect`. */
  url: string;
  clientId: string;
  /** Event types to receive; empty = all types. The hub filters; shared streams filter again locally. */
  filter?: readonly string[];
  /**
   * Topic selectors (`org/42/room1`, or a prefix ending in `*`). Without any, topic-scoped
   * events never arrive; events without topics always do (subject to `filter`).
   */
  topics?: readonly string[];
  /** Sent as `apikey=` (EventSource cannot set headers) and as `X-API-Key` on acks. */
  apiKey?: string;
  /**
   * A client token from `POST /api/sse/token` (issued by your backend): sent as `token=` on
   * the stream and on acks. It binds `clientId`, so no key is needed in the browser.
   */
  token?: string;
  /** Resume from the stored position, ack, and persist it. Default true. */
  resume?: boolean;
  /**
   * Event names to listen for besides the five known ones when there is no `filter` (with
   * one, its types are listened for), on hubs that still name every frame (they ignore
   * `named=false`); a browser delivers a named frame only to listeners of that exact name.
   */
  extraTypes?: readonly string[];
  /**
   * Ask the hub for unnamed frames (`named=false`), so every type reaches the client
   * whatever its name; the type is read from the JSON. Default true.
   */
  listenAll?: boolean;
  /** Bound of the `events` list (oldest dropped first). Default 500. */
  maxEvents?: number;
  /**
   * Share one hub connection per (url, clientId, credential) with every other client of
   * this page and of the browser's other tabs. Default true.
   */
  share?: boolean;
}

export interface SseClientDeps {
  eventSource?: EventSourceFactory;
  storage?: KeyValueStore;
  ack?: AckFn;
  /**
   * Diagnoses a refused stream when its retry is due; default: a fetch of the URL that reads
   * the status and error body. A reason keeps the stream refused until the next retry; null
   * (accepted, or no answer) opens it.
   */
  probe?: ProbeFn;
  ackDebounceMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
  /**
   * Where shared streams live: default one registry per page, coordinating tabs with
   * `navigator.locks` and `BroadcastChannel`. Tests give each fake tab its own.
   */
  registry?: StreamRegistry;
}

export interface ConnectionInfo {
  node: string;
  clientId: string;
  /** The stream delivers events after this position (null if the hub did not say). */
  resumeFrom: number | null;
  /** The hub's head when this connection started: events up to it were replayed. */
  headSequence: number | null;
  /** Sequences received on this connection that were at or below headSequence (recovered history). */
  recovered: readonly number[];
  /** Topic selectors the hub granted this connection (null: the hub did not say). */
  topics: readonly string[] | null;
  connectedAt: number;
}

export interface SseSnapshot {
  status: SseStatus;
  clientId: string;
  /** Who holds the hub connection (see StreamRole); null while stopped. */
  role: StreamRole | null;
  events: readonly ReceivedEvent[];
  /** Last sequence processed (received, or restored from storage). */
  lastSequence: number | null;
  node: string | null;
  error: string | null;
  /** Set when the hub said the requested position is older than its retained history. */
  reset: (ResetInfo & { at: number }) | null;
  connection: ConnectionInfo | null;
  received: number;
  duplicates: number;
  invalid: number;
  /** Connections opened after the first one. */
  reconnects: number;
  /** When the backoff timer fires, if one is pending. */
  nextRetryAt: number | null;
  /** The URL of the current (or last) EventSource. */
  streamUrl: string | null;
  /** Set when the hub's head was behind our position (it lost history or is another hub). */
  rewound: { from: number; to: number; at: number } | null;
  /** The last status transitions, oldest first (bounded). */
  history: readonly StatusChange[];
  /**
   * Whether events arrive without `event:` lines, so every type reaches the client
   * (the hub honours `named=false`); null until an event of a type other than `message`.
   */
  unnamedFrames: boolean | null;
}

export interface StatusChange {
  status: SseStatus;
  error: string | null;
  at: number;
}
