// Which of the newer API features this hub has, found out by asking it (never assumed).
//
// An older hub answers 404 for an endpoint it does not have and ignores a query parameter
// or body field it does not know (CONTRACT-NEXT). So:
// - an endpoint is there when it answers anything but 404/405 (a 400 still means "here");
// - topics are there when a stream's `connected` frame says which topics it granted (an
//   older hub's has no `topics`): learned from any page's own stream, or, on a page
//   without one, from a short probe stream;
// - unnamed events (`named=false`) are there once an event arrives that the browser would
//   only deliver unnamed (a type nobody listened for): learned, never probed.
// A probe that cannot decide (hub down, key refused) leaves the feature `null` (unknown) and
// is asked again later. Only the features a page needs are probed.
import { ApiError, hubApi, isMissingEndpoint } from './api';

export interface HubFeatures {
  /** GET /api/sse/connections */
  connections: boolean | null;
  /** GET /api/sse/presence */
  presence: boolean | null;
  /** GET /api/sse/events (history) */
  history: boolean | null;
  /** `topics` on publish, `topic=` on streams */
  topics: boolean | null;
  /** `named=false` on streams: every event reaches `onmessage`, whatever its type */
  unnamed: boolean | null;
}

const PROBE_CLIENT_ID = 'ssehub-console-probe';
// A replay of the last events or a `connected` frame comes at once; this bounds a stall.
const PROBE_TIMEOUT_MS = 3000;

export const UNKNOWN_FEATURES: HubFeatures = { connections: null, presence: null, history: null, topics: null, unnamed: null };

async function endpoint(call: () => Promise<unknown>): Promise<boolean | null> {
  try {
    await call();
    return true;
  } catch (e) {
    if (isMissingEndpoint(e)) return false;
    if (e instanceof ApiError && e.status === 400) return true; // there, it just did not like the question
    return null;
  }
}

/**
 * Opens a stream, hands its text to `decide` as it arrives until that returns an answer
 * (or null to stop undecided), and closes it. A probe stream uses its own client id and
 * never acks, so it moves nobody's position.
 */
async function readStream(params: Record<string, string>, apiKey: string, decide: (text: string) => boolean | null | undefined): Promise<boolean | null> {
  const q = new URLSearchParams({ clientId: PROBE_CLIENT_ID, ...params });
  if (apiKey !== '') q.set('apikey', apiKey);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS);
  try {
    const res = await fetch(`/api/sse/connect?${q.toString()}`, { signal: abort.signal, headers: { Accept: 'text/event-stream' } });
    if (res.status === 400) return true; // a hub that checks the parameter and did not like this value
    if (!res.ok || res.body === null) return null;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      text += value.replace(/\r\n?/g, '\n');
      const answer = decide(text);
      if (answer !== undefined) return answer;
      if (text.length > 65_536) return null;
    }
  } catch {
    return null; // timed out, refused, hub down: undecided
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** Topics: a stream asked with `topic=` lists the topics it was granted in `connected`. */
function topicsProbe(apiKey: string): Promise<boolean | null> {
  return readStream({ topic: 'ssehub-console/probe' }, apiKey, (text) => {
    const m = /event: connected\ndata: (.*)\n/.exec(text);
    if (m?.[1] === undefined) return undefined;
    const info = JSON.parse(m[1]) as Record<string, unknown>;
    return Array.isArray(info['topics']);
  });
}

export type ProbedFeature = 'connections' | 'presence' | 'history' | 'topics';

function probe(feature: ProbedFeature, apiKey: string): Promise<boolean | null> {
  const api = hubApi(apiKey);
  switch (feature) {
    case 'connections':
      return endpoint(() => api.connections(null, 1));
    case 'presence':
      return endpoint(() => api.presence('*', null, 1));
    case 'history':
      return endpoint(() => api.history({ after: 0, limit: 1 }));
    case 'topics':
      return topicsProbe(apiKey);
  }
}

// One answer per page load: features do not come and go while a hub runs (a new hub
// binary behind the same address shows after a reload). Unknown ones are asked again.
const listeners = new Set<() => void>();
let known: HubFeatures = UNKNOWN_FEATURES;
const asking = new Set<ProbedFeature>();

function learn(patch: Partial<HubFeatures>): void {
  const next = { ...known };
  let changed = false;
  for (const [k, v] of Object.entries(patch) as [keyof HubFeatures, boolean | null][]) {
    if (v === null || next[k] === v) continue;
    next[k] = v;
    changed = true;
  }
  if (!changed) return;
  known = next;
  for (const l of [...listeners]) l();
}

export const hubFeatures = {
  get: (): HubFeatures => known,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Probes those of `wanted` that are still unknown (one probe per feature at a time). */
  ensure(apiKey: string, wanted: readonly ProbedFeature[]): void {
    for (const f of wanted) {
      if (known[f] !== null || asking.has(f)) continue;
      asking.add(f);
      void probe(f, apiKey)
        .then((v) => learn({ [f]: v }))
        .finally(() => asking.delete(f));
    }
  },
  /** What a page saw for itself (a stream's `connected` frame, an event's type). */
  learn,
};
