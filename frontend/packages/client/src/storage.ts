// A tiny key-value seam over Web Storage so the client logic runs (and is
// tested) without a browser. Storage can throw (quota, privacy mode): we
// degrade to "not stored" rather than break the stream.

export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
}

export function webStore(kind: 'local' | 'session'): KeyValueStore {
  const area = (): Storage | null => {
    try {
      return kind === 'local' ? globalThis.localStorage : globalThis.sessionStorage;
    } catch {
      return null;
    }
  };
  return {
    get: (key) => {
      try {
        return area()?.getItem(key) ?? null;
      } catch {
        return null;
      }
    },
    set: (key, value) => {
      try {
        area()?.setItem(key, value);
      } catch {
        // not persisted; the stream still works for this page's lifetime
      }
    },
  };
}

export function memoryStore(initial: Record<string, string> = {}): KeyValueStore & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return { data, get: (k) => data.get(k) ?? null, set: (k, v) => void data.set(k, v) };
}

const CLIENT_ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

export function isValidClientId(id: string): boolean {
  return CLIENT_ID_RE.test(id);
}

/** Storage key of a client's last processed sequence. */
export function positionKey(clientId: string): string {
  return `ssehub.lastSequence.${clientId}`;
}

export function loadPosition(store: KeyValueStore, clientId: string): number | null {
  const raw = store.get(positionKey(clientId));
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
}

export function savePosition(store: KeyValueStore, clientId: string, sequence: number): void {
  store.set(positionKey(clientId), String(sequence));
}

/**
 * The client id for a named stream: the explicit one if given (and then
 * remembered), else the remembered one, else a new random id.
 */
export function resolveClientId(store: KeyValueStore, name: string, explicit?: string): string {
  const key = `ssehub.clientId.${name}`;
  if (explicit !== undefined && explicit !== '') {
    store.set(key, explicit);
    return explicit;
  }
  const stored = store.get(key);
  if (stored !== null && isValidClientId(stored)) return stored;
  const fresh = `web-${randomId()}`;
  store.set(key, fresh);
  return fresh;
}

function randomId(): string {
  const c = globalThis.crypto;
  if (c !== undefined && typeof c.randomUUID === 'function') return c.randomUUID().slice(0, 8);
  return Math.random().toString(36).slice(2, 10);
}
