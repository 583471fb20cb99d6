import { useSyncExternalStore } from 'react';
import { apiKeyStore } from '../lib/apiKeyStore';

/** The run-time API key (sessionStorage) and its setter. */
export function useApiKey(): [string, (key: string) => void] {
  const key = useSyncExternalStore(apiKeyStore.subscribe, apiKeyStore.get);
  return [key, apiKeyStore.set];
}
