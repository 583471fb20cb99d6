// useHubStream: useSse as this SPA's pages use it.
//
// - A stream the key may not open (401) is not retried: it waits, closed, until the key
//   changes, and `blocked` says why (the page points at the key field).
import { useSse, type UseSseOptions, type UseSseResult } from '@ssehub/client/react';
import { useEffect } from 'react';
import { KNOWN_TYPES } from '@ssehub/client';
import { canSubscribe, probeAccess, type Access } from '../lib/hubAccess';
import { hubFeatures } from '../lib/hubFeatures';
import { useHubAccess } from './useHubAccess';

export type HubStreamOptions = UseSseOptions;

export interface HubStream extends UseSseResult {
  /** Set while the key may not open streams: the stream waits for another key. */
  blocked: Access | null;
}

export function useHubStream(options: HubStreamOptions = {}): HubStream {
  const access = useHubAccess();
  const allowed = canSubscribe(access);
  const { enabled, ...rest } = options;
  const stream = useSse({ ...rest, enabled: (enabled ?? true) && allowed });

  // EventSource cannot read an HTTP status: when a stream is refused, ask the hub what
  // the key may do (a 401 there pauses the stream until the key changes).
  const refused = stream.status === 'error';
  useEffect(() => {
    if (refused) void probeAccess();
  }, [refused]);

  // What this stream shows about the hub: a `connected` frame with granted topics means
  // topics; an event of a type nobody listened for can only have come unnamed.
  const grantedTopics = stream.connection === null ? undefined : stream.connection.topics;
  const askedTopics = (options.topics ?? []).length > 0;
  useEffect(() => {
    if (grantedTopics === undefined) return;
    if (grantedTopics !== null) hubFeatures.learn({ topics: true });
    else if (askedTopics) hubFeatures.learn({ topics: false });
  }, [grantedTopics, askedTopics]);
  const listened = new Set([...KNOWN_TYPES, ...(options.extraTypes ?? []), ...(options.filter ?? [])].map((t) => t.toLowerCase()));
  const unlisted = stream.events.some((e) => !listened.has(e.type.toLowerCase()));
  useEffect(() => {
    if (unlisted) hubFeatures.learn({ unnamed: true });
  }, [unlisted]);

  return { ...stream, blocked: allowed ? null : access };
}
