// The API key the user typed at run time. Kept in sessionStorage (gone when
// the tab closes), never in the bundle. Open-mode hubs need none.
import { webStore } from '@ssehub/client';

const KEY = 'ssehub.apiKey';
const store = webStore('session');
const listeners = new Set<() => void>();
let current = store.get(KEY) ?? '';

export const apiKeyStore = {
  get: (): string => current,
  set(value: string): void {
    current = value.trim();
    store.set(KEY, current);
    for (const l of [...listeners]) l();
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
