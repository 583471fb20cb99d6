// useHubStream: useSse as this SPA's pages use it.
//
// - A stream the key may not open (401) is not retried: it waits, closed, until the key
//   changes, and `blocked` says why (the page points at the key field).
// - A full-page navigation closes the stream first (pagehide), so the unloading page
//   never reacts to the browser tearing its EventSource down (which used to open one more,
//   throw-away stream from the old position); a page restored from the back/forward cache
//   connects again.
import { useSse, type UseSseOptions, type UseSseResult } from '@ssehub/client/react';
import { useEffect } from 'react';
import { canSubscribe, probeAccess, type Access } from '../lib/hubAccess';
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

  // Synchronously, inside the event: a state update would render after the unload.
  const { disconnect, connect } = stream;
  const active = (enabled ?? true) && allowed;
  useEffect(() => {
    if (!active) return undefined;
    const onHide = () => disconnect();
    const onShow = (e: PageTransitionEvent) => {
      if (e.persisted) connect();
    };
    window.addEventListener('pagehide', onHide);
    window.addEventListener('pageshow', onShow);
    return () => {
      window.removeEventListener('pagehide', onHide);
      window.removeEventListener('pageshow', onShow);
    };
  }, [active, disconnect, connect]);

  return { ...stream, blocked: allowed ? null : access };
}
