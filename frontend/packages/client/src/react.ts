// @ssehub/client/react: useSse, a thin binding of SseClient. One client per hook;
// option changes go through setOptions, mount/unmount start/stop it, and React
// reads its immutable snapshots. Hooks with the same url, client id and
// credential share one hub connection (and, across tabs, one per browser).
import { createContext, createElement, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { SseClient } from './client.js';
import { resolveClientId, webStore } from './storage.js';
import type { SseClientOptions, SseSnapshot } from './types.js';

/** Defaults for every useSse below an SseProvider (a hook's own options win). */
export interface SseDefaults {
  url?: string;
  clientId?: string;
  apiKey?: string;
  token?: string;
  share?: boolean;
}

const DefaultsContext = createContext<SseDefaults>({});

/** Sets the hub URL, client id and credentials once for every useSse below it. */
export function SseProvider({ children, url, clientId, apiKey, token, share }: SseDefaults & { children?: ReactNode }) {
  const value = useMemo(() => ({ url, clientId, apiKey, token, share }), [url, clientId, apiKey, token, share]);
  return createElement(DefaultsContext.Provider, { value }, children);
}

export interface UseSseOptions {
  /** Stream endpoint. Default `/api/sse/connect` (same origin). */
  url?: string;
  /** Client id. Default: one per browser, remembered in localStorage (`ssehub.clientId.default`). */
  clientId?: string;
  /** Event types to receive; empty or absent = all. */
  filter?: readonly string[];
  /** Topic selectors (exact, or a prefix ending in `*`); none = no topic-scoped events. */
  topics?: readonly string[];
  /** Custom event names to listen for, for hubs that ignore `named=false`. */
  extraTypes?: readonly string[];
  /** Ask for unnamed frames (`named=false`) so every type arrives. Default true. */
  listenAll?: boolean;
  /** API key, sent as `apikey=`; default the SseProvider's. */
  apiKey?: string;
  /**
   * Client token from `POST /api/sse/token` (your backend issues it): sent as `token=`, it
   * binds the stream to the token's client id, so pass the same `clientId`.
   */
  token?: string;
  /** Resume from the stored position and ack progress. Default true. */
  resume?: boolean;
  /** Bound of `events`. Default 500. */
  maxEvents?: number;
  /** Connect while mounted. Default true. */
  enabled?: boolean;
  /** Share one connection with the page's and the browser's other hooks of the same stream. Default true. */
  share?: boolean;
}

export interface UseSseResult extends SseSnapshot {
  /** Close the stream (position kept). */
  disconnect: () => void;
  /** Open it again, resuming from lastSequence. */
  connect: () => void;
  /** Drop the connection and reconnect at once. */
  reconnect: () => void;
  /** Clear the displayed events and counters. */
  clear: () => void;
}

const split = (key: string): string[] => (key === '' ? [] : key.split('\n'));

export function useSse(options: UseSseOptions = {}): UseSseResult {
  const defaults = useContext(DefaultsContext);
  const storage = useMemo(() => webStore('local'), []);
  const explicitId = options.clientId ?? defaults.clientId;
  const clientId = useMemo(() => explicitId ?? resolveClientId(storage, 'default'), [storage, explicitId]);
  const url = options.url ?? defaults.url ?? '/api/sse/connect';
  const filterKey = (options.filter ?? []).join('\n');
  const topicsKey = (options.topics ?? []).join('\n');
  const extraKey = (options.extraTypes ?? []).join('\n');
  const listenAll = options.listenAll ?? true;
  const apiKey = options.apiKey ?? defaults.apiKey;
  const token = options.token ?? defaults.token;
  const resume = options.resume ?? true;
  const maxEvents = options.maxEvents ?? 500;
  const enabled = options.enabled ?? true;
  const share = options.share ?? defaults.share ?? true;

  const clientOptions = useMemo<SseClientOptions>(
    () => ({
      url,
      clientId,
      filter: split(filterKey),
      topics: split(topicsKey),
      extraTypes: split(extraKey),
      listenAll,
      apiKey,
      token,
      resume,
      maxEvents,
      share,
    }),
    [url, clientId, filterKey, topicsKey, extraKey, listenAll, apiKey, token, resume, maxEvents, share],
  );
  const [client] = useState(() => new SseClient(clientOptions, { storage }));

  useEffect(() => {
    client.setOptions(clientOptions);
  }, [client, clientOptions]);

  useEffect(() => {
    if (!enabled) return undefined;
    client.start();
    return () => client.stop();
  }, [client, enabled]);

  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const actions = useMemo(
    () => ({
      disconnect: () => client.stop(),
      connect: () => client.start(),
      reconnect: () => client.reconnectNow(),
      clear: () => client.clear(),
    }),
    [client],
  );
  return { ...snapshot, ...actions };
}
