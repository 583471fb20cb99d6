// useSse: React binding of SseClient. One client per hook instance; option
// changes are applied with setOptions (which reconnects), mount/unmount
// start/stop it, and React reads its immutable snapshots.
import { createContext, createElement, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { SseClient } from './client.js';
import { resolveClientId, webStore } from './storage.js';
import type { SseClientOptions, SseSnapshot } from './types.js';

/** Defaults for every useSse below an SseProvider (a hook's own options win). */
export interface SseDefaults {
  url?: string;
  apiKey?: string;
  token?: string;
}

const DefaultsContext = createContext<SseDefaults>({});

/** Sets the hub URL and credentials once for every useSse below it. */
export function SseProvider({ children, url, apiKey, token }: SseDefaults & { children?: ReactNode }) {
  const value = useMemo(() => ({ url, apiKey, token }), [url, apiKey, token]);
  return createElement(DefaultsContext.Provider, { value }, children);
}

export interface UseSseOptions {
  /** Stream endpoint. Default `/api/sse/connect` (same origin). */
  url?: string;
  /** Client id; remembered in localStorage under `name`. Default: the remembered one, else a new one. */
  clientId?: string;
  /** Names the remembered client id, so several streams on a page keep distinct ids. Default `default`. */
  name?: string;
  /** Event types to receive; empty or absent = all. */
  filter?: readonly string[];
  /** Custom event names to listen for when there is no filter. */
  extraTypes?: readonly string[];
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

const split = (key: string): string[] => (key === '' ? [] : key.split(','));

export function useSse(options: UseSseOptions = {}): UseSseResult {
  const defaults = useContext(DefaultsContext);
  const storage = useMemo(() => webStore('local'), []);
  const name = options.name ?? 'default';
  const explicitId = options.clientId;
  const clientId = useMemo(() => resolveClientId(storage, name, explicitId), [storage, name, explicitId]);
  const url = options.url ?? defaults.url ?? '/api/sse/connect';
  const filterKey = (options.filter ?? []).join(',');
  const extraKey = (options.extraTypes ?? []).join(',');
  const apiKey = options.apiKey ?? defaults.apiKey;
  const token = options.token ?? defaults.token;
  const resume = options.resume ?? true;
  const maxEvents = options.maxEvents ?? 500;
  const enabled = options.enabled ?? true;

  const clientOptions = useMemo<SseClientOptions>(
    () => ({ url, clientId, filter: split(filterKey), extraTypes: split(extraKey), apiKey, token, resume, maxEvents }),
    [url, clientId, filterKey, extraKey, apiKey, token, resume, maxEvents],
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
