// The browser defaults SseClient uses unless tests inject their own.
import type { AckFn, EventSourceLike } from './types.js';

export function defaultEventSource(url: string): EventSourceLike {
  return new EventSource(url);
}

/** The ack endpoint next to a stream endpoint: `/api/sse/connect` -> `/api/sse/ack`. */
export function ackUrlFor(streamUrl: string): string {
  return streamUrl.replace(/\/connect(\?.*)?$/, '/ack');
}

export function defaultAck(ackUrl: string, apiKey: string | undefined, token?: string): AckFn {
  return async (clientId, sequence) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (apiKey !== undefined && apiKey !== '') headers['X-API-Key'] = apiKey;
    const url = token !== undefined && token !== '' ? `${ackUrl}?token=${encodeURIComponent(token)}` : ackUrl;
    // keepalive: the last ack, flushed when the tab closes, still reaches the hub.
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ clientId, sequence }), keepalive: true });
    if (!res.ok) throw new Error(`ack failed: HTTP ${res.status}`);
  };
}

export async function defaultProbe(url: string): Promise<string | null> {
  const abort = new AbortController();
  try {
    const res = await fetch(url, { signal: abort.signal, headers: { Accept: 'text/event-stream' } });
    if (res.ok) return null;
    let detail = res.statusText;
    try {
      const body = (await res.json()) as { error?: unknown; message?: unknown };
      if (typeof body.message === 'string') detail = typeof body.error === 'string' ? `${body.error}: ${body.message}` : body.message;
    } catch {
      // not a JSON error body
    }
    return `HTTP ${res.status} ${detail}`.trim();
  } catch {
    return null;
  } finally {
    abort.abort();
  }
}
