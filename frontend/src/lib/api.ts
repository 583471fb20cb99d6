// Typed calls to the hub's HTTP API (same origin). The API key, when the user
// typed one, goes as `X-API-Key`; errors surface the hub's JSON error body.
// Every answer that tells us about the key (401, 403 insufficient_scope, a 2xx)
// is passed to `onAnswer`, so the page learns what the key may do from the
// hub itself (see hubAccess.ts).
import { z } from 'zod';
import { reachability } from './reachability';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the hub did not answer at all. */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The code of an ApiError for a request that never got an answer (hub down, network). */
export const UNREACHABLE = 'unreachable';

const errorBody = z.object({ error: z.string(), message: z.string() });
const published = z.object({ sequence: z.number(), messageId: z.string() });
export type Published = z.infer<typeof published>;

const demoStatus = z.object({ isRunning: z.boolean(), intervalSeconds: z.number().nullable().optional() });
export type DemoStatus = z.infer<typeof demoStatus>;

// Counters every node reports (CONTRACT-NEXT item 2); absent on older hubs.
const counters = {
  eventsPublished: z.number().optional(),
  framesDelivered: z.number().optional(),
  streamsOpened: z.number().optional(),
  ready: z.boolean().optional(),
  storeAvailable: z.boolean().optional(),
};

const nodeStats = z.looseObject({
  node: z.string(),
  connections: z.number().optional(),
  clients: z.number().optional(),
  headSequence: z.number().nullable().optional(),
  dispatchedSequence: z.number().nullable().optional(),
  seenAt: z.string().optional(),
  ...counters,
});
const retention = z.looseObject({ maxEvents: z.number().nullable().optional(), maxAgeSeconds: z.number().nullable().optional() });
const stats = z.looseObject({
  node: z.string(),
  connections: z.number(),
  clients: z.number().optional(),
  headSequence: z.number().nullable().optional(),
  dispatchedSequence: z.number().nullable().optional(),
  oldestSequence: z.number().nullable().optional(),
  store: z.unknown().optional(),
  uptimeSeconds: z.number().optional(),
  retention: retention.optional(),
  nodes: z.array(nodeStats).optional(),
  ...counters,
});
export type Stats = z.infer<typeof stats>;
export type NodeStats = z.infer<typeof nodeStats>;

// GET /api/sse/connections (CONTRACT-NEXT item 3)
const connection = z.looseObject({
  connId: z.number(),
  clientId: z.string(),
  filter: z.array(z.string()).nullable().optional(),
  topics: z.array(z.string()).nullable().optional(),
  connectedAt: z.string().optional(),
  position: z.number().nullable().optional(),
  protocol: z.string().optional(),
  tls: z.boolean().optional(),
  node: z.string().optional(),
});
const connections = z.looseObject({
  node: z.string(),
  total: z.number(),
  connections: z.array(connection),
  next: z.number().nullable().optional(),
});
export type Connection = z.infer<typeof connection>;
export type Connections = z.infer<typeof connections>;

// GET /api/sse/presence (CONTRACT-NEXT item 5); `next` is opaque.
const presenceClient = z.looseObject({
  clientId: z.string(),
  node: z.string().optional(),
  topics: z.array(z.string()).optional(),
  streams: z.number().optional(),
  connectedAt: z.string().optional(),
});
const presence = z.looseObject({
  clients: z.array(presenceClient),
  next: z.union([z.string(), z.number()]).nullable().optional(),
});
export type PresenceClient = z.infer<typeof presenceClient>;
export type Presence = z.infer<typeof presence>;

// GET /api/sse/events (CONTRACT-NEXT item 6): the same objects a stream delivers.
const historyEvent = z.looseObject({ _sequence: z.number(), type: z.string() });
const history = z.looseObject({
  events: z.array(historyEvent),
  next: z.number().nullable().optional(),
  oldestSequence: z.number().nullable().optional(),
  headSequence: z.number(),
});
export type HistoryEvent = z.infer<typeof historyEvent>;
export type History = z.infer<typeof history>;

/** What each answer tells about the key that was sent (status and error code). */
export type AnswerListener = (answer: { apiKey: string; path: string; status: number; code: string | null }) => void;

let answerListener: AnswerListener | null = null;
/** Registers the one listener told about every answer (hubAccess). */
export function onAnswer(listener: AnswerListener | null): void {
  answerListener = listener;
}

async function call<T>(apiKey: string, method: string, path: string, schema: z.ZodType<T> | null, body?: unknown): Promise<T | null> {
  const headers: Record<string, string> = {};
  if (apiKey !== '') headers['X-API-Key'] = apiKey;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  } catch (e) {
    // fetch rejects only when no answer came: the hub is down or unreachable.
    const why = e instanceof Error ? e.message : String(e);
    throw new ApiError(0, UNREACHABLE, `the hub did not answer (${why})`);
  }
  reachability.answered(Date.now());
  const text = await res.text();
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  const err = res.ok ? null : errorBody.safeParse(json);
  answerListener?.({ apiKey, path, status: res.status, code: err?.success === true ? err.data.error : null });
  if (err !== null) {
    if (err.success) throw new ApiError(res.status, err.data.error, err.data.message);
    throw new ApiError(res.status, 'http_error', `HTTP ${res.status} ${res.statusText}`.trim());
  }
  if (schema === null) return null;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError(res.status, 'bad_response', `unexpected response from ${path}: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

async function required<T>(p: Promise<T | null>): Promise<T> {
  const v = await p;
  if (v === null) throw new ApiError(0, 'bad_response', 'empty response');
  return v;
}

const target = (path: string, clientId?: string) =>
  clientId !== undefined && clientId !== '' ? `${path}/${encodeURIComponent(clientId)}` : path;

function query(params: Record<string, string | number | readonly string[] | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const item of v as readonly string[]) q.append(k, item);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** `topics` only when there are some, so hubs without topics see exactly today's bodies. */
const withTopics = <B extends object>(body: B, topics?: readonly string[]) => (topics !== undefined && topics.length > 0 ? { ...body, topics } : body);

export type Severity = string;

export function hubApi(apiKey: string) {
  return {
    broadcast: (data: unknown, eventType?: string, topics?: readonly string[]) =>
      required(call(apiKey, 'POST', '/api/sse/broadcast', published, withTopics(eventType ? { eventType, data } : { data }, topics))),
    send: (clientId: string, data: unknown, eventType?: string, topics?: readonly string[]) =>
      required(call(apiKey, 'POST', target('/api/sse/send', clientId), published, withTopics(eventType ? { eventType, data } : { data }, topics))),
    notification: (body: { message: string; severity?: Severity; topics?: readonly string[] }, clientId?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/notification', clientId), published, withTopics({ ...body, topics: undefined }, body.topics))),
    alert: (body: { message: string; severity?: Severity; category?: string; topics?: readonly string[] }, clientId?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/alert', clientId), published, withTopics({ ...body, topics: undefined }, body.topics))),
    dataUpdate: (body: { entityId: string; entityType: string; changes?: Record<string, unknown>; topics?: readonly string[] }, clientId?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/data-update', clientId), published, withTopics({ ...body, topics: undefined }, body.topics))),
    demoStart: (intervalSeconds: number) => call(apiKey, 'POST', '/api/demo/start', null, { intervalSeconds }),
    demoStop: () => call(apiKey, 'POST', '/api/demo/stop', null),
    demoStatus: () => required(call(apiKey, 'GET', '/api/demo/status', demoStatus)),
    live: () => call(apiKey, 'GET', '/health/live', null),
    stats: () => required(call(apiKey, 'GET', '/api/sse/stats', stats)),
    connections: (after: number | null, limit = 100) =>
      required(call(apiKey, 'GET', `/api/sse/connections${query({ limit, after })}`, connections)),
    presence: (topic: string, after: string | number | null, limit = 100) =>
      required(call(apiKey, 'GET', `/api/sse/presence${query({ topic, limit, after })}`, presence)),
    history: (p: { after: number; limit: number; filter?: readonly string[]; topic?: string }) =>
      required(
        call(
          apiKey,
          'GET',
          `/api/sse/events${query({ after: p.after, limit: p.limit, filter: p.filter !== undefined && p.filter.length > 0 ? p.filter.join(',') : null, topic: p.topic })}`,
          history,
        ),
      ),
  };
}

export type HubApi = ReturnType<typeof hubApi>;

/** A sentence for the UI; a hub that did not answer says so plainly. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === UNREACHABLE) return 'hub unreachable: no answer (is it running?)';
    return e.status > 0 ? `${e.status} ${e.code}: ${e.message}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Whether the request got no answer at all (hub down, network). */
export function isUnreachable(e: unknown): boolean {
  return e instanceof ApiError && e.code === UNREACHABLE;
}

/** Whether an error is "the endpoint does not exist on this hub" (an older hub). */
export function isMissingEndpoint(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 405) && e.code !== UNREACHABLE;
}
