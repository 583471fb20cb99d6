// What the current API key may do on this hub, learned from the hub's own answers.
//
// A hub runs open (no keys: every request may publish) or with keys of two scopes
// (docs/API.md "Authentication"). The page cannot read the configuration, so it asks:
// - GET /api/sse/stats (subscribe scope): 200 means the key (or no key) may subscribe;
//   401 means a key is missing or refused.
// - POST /api/sse/broadcast with `{}`: the hub checks the scope before the body, so a
//   publish-scope key gets 400 missing_field (nothing is published) and a subscribe key
//   403 insufficient_scope.
// Every later answer (api.ts onAnswer) corrects the picture: a 401 or a 403
// insufficient_scope on any call, made with the current key, moves the state at once.
import { ApiError, hubApi, onAnswer } from './api';
import { apiKeyStore } from './apiKeyStore';

export type AccessKind =
  /** Not asked yet, or the hub did not answer. */
  | 'unknown'
  /** No key needed: the hub has no keys and every request may publish. */
  | 'open'
  /** The hub has keys and none was given. */
  | 'key-required'
  /** The key given was refused (401). */
  | 'key-refused'
  /** The key may subscribe (stream, stats, demo status) but not publish. */
  | 'subscribe'
  /** The key may do everything. */
  | 'publish';

export interface Access {
  kind: AccessKind;
  /** The key this answer is about. */
  apiKey: string;
  /** The hub's words for a refusal, e.g. `invalid_api_key: the API key is not valid`. */
  detail: string | null;
  checkedAt: number | null;
}

export const canSubscribe = (a: Access) => a.kind === 'open' || a.kind === 'subscribe' || a.kind === 'publish' || a.kind === 'unknown';
/** Unknown counts as allowed: the hub's answer to the attempt will tell. */
export const canPublish = (a: Access) => a.kind === 'open' || a.kind === 'publish' || a.kind === 'unknown';
/** A refusal the user fixes in the API key field. */
export const needsKey = (a: Access) => a.kind === 'key-required' || a.kind === 'key-refused';

const listeners = new Set<() => void>();
let current: Access = { kind: 'unknown', apiKey: apiKeyStore.get(), detail: null, checkedAt: null };
let probing: Promise<void> | null = null;
let probeKey: string | null = null;

function set(next: Access): void {
  if (next.apiKey !== apiKeyStore.get()) return; // an answer about a key no longer in use
  const same = next.kind === current.kind && next.apiKey === current.apiKey && next.detail === current.detail;
  current = same ? { ...current, checkedAt: next.checkedAt } : next;
  if (!same) for (const l of [...listeners]) l();
}

function refusal(apiKey: string, detail: string | null): Access {
  return { kind: apiKey === '' ? 'key-required' : 'key-refused', apiKey, detail, checkedAt: Date.now() };
}

/** Asks the hub what the current key may do (coalesced: one probe per key at a time). */
export function probeAccess(): Promise<void> {
  const apiKey = apiKeyStore.get();
  if (probing !== null && probeKey === apiKey) return probing;
  probeKey = apiKey;
  const api = hubApi(apiKey);
  const run = async () => {
    try {
      await api.stats();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) set(refusal(apiKey, `${e.code}: ${e.message}`));
      return; // anything else (hub down, 503) tells nothing about the key
    }
    try {
      await api.broadcast(undefined); // `{}`: refused by scope, or by the missing `data`
      set({ kind: apiKey === '' ? 'open' : 'publish', apiKey, detail: null, checkedAt: Date.now() });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 0) return;
      if (e.status === 403) set({ kind: 'subscribe', apiKey, detail: `${e.code}: ${e.message}`, checkedAt: Date.now() });
      else if (e.status === 401) set(refusal(apiKey, `${e.code}: ${e.message}`));
      else set({ kind: apiKey === '' ? 'open' : 'publish', apiKey, detail: null, checkedAt: Date.now() });
    }
  };
  const p = run().finally(() => {
    if (probing === p) {
      probing = null;
      probeKey = null;
    }
  });
  probing = p;
  return p;
}

// Learn from every answer made with the current key.
onAnswer(({ apiKey, status, code }) => {
  if (apiKey !== apiKeyStore.get()) return;
  if (status === 401) set(refusal(apiKey, code));
  else if (status === 403 && code === 'insufficient_scope') set({ kind: 'subscribe', apiKey, detail: code, checkedAt: Date.now() });
  // a success after a refusal, or after the hub did not answer the probe: ask again
  else if (status >= 200 && status < 300 && (current.kind === 'unknown' || needsKey(current))) void probeAccess();
});

// A new key is a new question.
apiKeyStore.subscribe(() => {
  current = { kind: 'unknown', apiKey: apiKeyStore.get(), detail: null, checkedAt: null };
  for (const l of [...listeners]) l();
  void probeAccess();
});

export const hubAccess = {
  get: (): Access => current,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Tells the store a stream was refused with 401 (EventSource cannot read statuses). */
  streamRefused(apiKey: string, detail: string | null): void {
    if (apiKey === apiKeyStore.get()) set(refusal(apiKey, detail));
  },
};
