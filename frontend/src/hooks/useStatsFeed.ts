import { useEffect, useSyncExternalStore } from 'react';
import { statsFeed, type FeedState } from '../lib/statsFeed';
import { useApiKey } from './useApiKey';

/** The console's shared stats poll (runs while a console page is open) and its history. */
export function useStatsFeed(): FeedState & { refresh: () => void } {
  const [key] = useApiKey();
  useEffect(() => statsFeed.use(key), [key]);
  const state = useSyncExternalStore(statsFeed.subscribe, statsFeed.getState);
  return { ...state, refresh: statsFeed.refresh };
}
