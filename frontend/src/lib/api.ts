// Typed calls to the hub's HTTP API (same origin). The API key, when the user
// typed one, goes as `X-API-Key`; errors surface the hub's JSON error body.
import { z } from 'zod';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const errorBody = z.object({ error: z.string(), message: z.string() });
const published = z.object({ sequence: z.number(), messageId: z.string() });
export type Published = z.infer<typeof published>;

const demoStatus = z.object({ isRunning: z.boolean(), intervalSeconds: z.number().nullable().optional() });
export type DemoStatus = z.infer<typeof demoStatus>;

const nodeStats = z.looseObject({
  node: z.string(),
  connections: z.number().optional(),
  clients: z.number().optional(),
  headSequence: z.number().nullable().optional(),
  dispatchedSequence: z.number().nullable().optional(),
  seenAt: z.string().optional(),
});
const stats = z.looseObject({
  node: z.string(),
  connections: z.number(),
  clients: z.number().optional(),
  headSequence: z.number().nullable().optional(),
  dispatchedSequence: z.number().nullable().optional(),
  oldestSequence: z.number().nullable().optional(),
  store: z.unknown().optional(),
  nodes: z.array(nodeStats).optional(),
});
export type Stats = z.infer<typeof stats>;
export type NodeStats = z.infer<typeof nodeStats>;

async function call<T>(apiKey: string, method: string, path: string, schema: z.ZodType<T> | null, body?: unknown): Promise<T | null> {
  const headers: Record<string, string> = {};
  if (apiKey !== '') headers['X-API-Key'] = apiKey;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const err = errorBody.safeParse(json);
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

export type Severity = string;

export function hubApi(apiKey: string) {
  return {
    broadcast: (data: unknown, eventType?: string) =>
      required(call(apiKey, 'POST', '/api/sse/broadcast', published, eventType ? { eventType, data } : { data })),
    send: (clientId: string, data: unknown, eventType?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/send', clientId), published, eventType ? { eventType, data } : { data })),
    notification: (body: { message: string; severity?: Severity }, clientId?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/notification', clientId), published, body)),
    alert: (body: { message: string; severity?: Severity; category?: string }, clientId?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/alert', clientId), published, body)),
    dataUpdate: (body: { entityId: string; entityType: string; changes?: Record<string, unknown> }, clientId?: string) =>
      required(call(apiKey, 'POST', target('/api/sse/data-update', clientId), published, body)),
    demoStart: (intervalSeconds: number) => call(apiKey, 'POST', '/api/demo/start', null, { intervalSeconds }),
    demoStop: () => call(apiKey, 'POST', '/api/demo/stop', null),
    demoStatus: () => required(call(apiKey, 'GET', '/api/demo/status', demoStatus)),
    stats: () => required(call(apiKey, 'GET', '/api/sse/stats', stats)),
  };
}

export type HubApi = ReturnType<typeof hubApi>;

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.status > 0 ? `${e.status} ${e.code}: ${e.message}` : e.message;
  return e instanceof Error ? e.message : String(e);
}
