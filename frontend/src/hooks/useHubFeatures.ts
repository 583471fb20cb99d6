import { useEffect, useSyncExternalStore } from 'react';
import { hubFeatures, type HubFeatures, type ProbedFeature } from '../lib/hubFeatures';
import { useHubAccess } from './useHubAccess';

/**
 * The newer API features of this hub: true, false, or null while unknown. `probe` names
 * the ones this page needs asked now (the others are only learned from what pages see).
 */
export function useHubFeatures(probe: readonly ProbedFeature[] = []): HubFeatures {
  const access = useHubAccess();
  const features = useSyncExternalStore(hubFeatures.subscribe, hubFeatures.get);
  // Ask again whenever what the key may do changes: a probe refused with 401 decided nothing.
  const { apiKey, kind } = access;
  const wanted = probe.join(',');
  useEffect(() => {
    if (wanted !== '' && kind !== 'key-required' && kind !== 'key-refused') hubFeatures.ensure(apiKey, wanted.split(',') as ProbedFeature[]);
  }, [apiKey, kind, wanted]);
  return features;
}
