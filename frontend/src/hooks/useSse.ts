// useSse: React binding of SseClient. One client per hook instance; option
// changes are applied with setOptions (which reconnects), mount/unmount
// start/stop it, and React reads its immutable snapshots.
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { SseClient, type SseClientOptions, type SseSnapshot } from '../lib/sseClient';
import { resolveClientId, webStore } from '../lib/storage';
import { useApiKey } from './useApiKey';

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
  /** API key; default the one typed into the header (sessionStorage). */
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
  const [sessionKey] = useApiKey();
  const storage = useMemo(() => webStore('local'), []);
  const name = options.name ?? 'default';
  const explicitId = options.clientId;
  const clientId = useMemo(() => resolveClientId(storage, name, explicitId), [storage, name, explicitId]);
  const url = options.url ?? '/api/sse/connect';
  const filterKey = (options.filter ?? []).join(',');
  const extraKey = (options.extraTypes ?? []).join(',');
  const apiKey = options.apiKey ?? sessionKey;
  const token = options.token;
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
