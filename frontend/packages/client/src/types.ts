// The shapes SseClient works with: its options, injected dependencies, the
// minimal EventSource surface it needs, and the snapshot React renders.
import type { BackoffPolicy } from './backoff.js';
import type { ReceivedEvent, ResetInfo } from './events.js';
import type { KeyValueStore } from './storage.js';

export type SseStatus = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error';

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
  /** Event types to receive (server-side filter); empty = all types. */
  filter?: readonly string[];
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
   * Extra event names to listen for when no filter is set. EventSource only
   * dispatches named events to listeners registered for that exact name.
   */
  extraTypes?: readonly string[];
  /** Bound of the `events` list (oldest dropped first). Default 500. */
  maxEvents?: number;
}

export interface SseClientDeps {
  eventSource?: EventSourceFactory;
  storage?: KeyValueStore;
  ack?: AckFn;
  /** Diagnoses a refused stream; default: a fetch of the URL that reads the status and error body. */
  probe?: ProbeFn;
  ackDebounceMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
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
  connectedAt: number;
}

export interface SseSnapshot {
  status: SseStatus;
  clientId: string;
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
  /** When our own backoff timer fires, if one is pending. */
  nextRetryAt: number | null;
  /** The URL of the current (or last) EventSource. */
  streamUrl: string | null;
  /** Set when the hub's head was behind our position (it lost history or is another hub). */
  rewound: { from: number; to: number; at: number } | null;
  /** The last status transitions, oldest first (bounded). */
  history: readonly StatusChange[];
}

export interface StatusChange {
  status: SseStatus;
  error: string | null;
  at: number;
}
