import { useEffect, useSyncExternalStore } from 'react';
import { hubAccess, probeAccess, type Access } from '../lib/hubAccess';

/** What the current API key may do on this hub (asked once per key, corrected by every answer). */
export function useHubAccess(): Access {
  const access = useSyncExternalStore(hubAccess.subscribe, hubAccess.get);
  const unasked = access.kind === 'unknown' && access.checkedAt === null;
  useEffect(() => {
    if (unasked) void probeAccess();
  }, [unasked]);
  return access;
}
