import { useEffect, useSyncExternalStore } from 'react';
import { hubFeatures, type HubFeatures } from '../lib/hubFeatures';
import { useHubAccess } from './useHubAccess';

/** The newer API features of this hub: true, false, or null while unknown. */
export function useHubFeatures(): HubFeatures {
  const access = useHubAccess();
  const features = useSyncExternalStore(hubFeatures.subscribe, hubFeatures.get);
  // Ask again whenever what the key may do changes: a probe refused with 401 decided nothing.
  const { apiKey, kind } = access;
  useEffect(() => {
    if (kind !== 'key-required' && kind !== 'key-refused') hubFeatures.ensure(apiKey);
  }, [apiKey, kind]);
  return features;
}
