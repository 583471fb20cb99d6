import { useSyncExternalStore } from 'react';
import { router } from '../lib/router';

/** The current path; re-renders on navigation. */
export function useRoute(): string {
  return useSyncExternalStore(router.subscribe, router.path);
}
