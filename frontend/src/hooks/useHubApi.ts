import { useMemo } from 'react';
import { hubApi, type HubApi } from '../lib/api';
import { useApiKey } from './useApiKey';

/** HTTP API calls carrying the current API key. */
export function useHubApi(): HubApi {
  const [key] = useApiKey();
  return useMemo(() => hubApi(key), [key]);
}
