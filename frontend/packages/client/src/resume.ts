// Pure rules of where a stream resumes and how its URL is built (no I/O).
import { KNOWN_TYPES } from './events.js';

/** Filter entries, trimmed and deduplicated, known types in their canonical case. */
export function normalizeFilter(filter: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of filter ?? []) {
    const t = raw.trim();
    if (t === '') continue;
    const known = KNOWN_TYPES.find((k) => k.toLowerCase() === t.toLowerCase());
    const name = known ?? t;
    if (!out.some((o) => o.toLowerCase() === name.toLowerCase())) out.push(name);
  }
  return out;
}

/** Topic selectors, trimmed, without empties and duplicates, sorted (so equal sets compare equal). */
export function normalizeTopics(topics: readonly string[] | undefined): string[] {
  return [...new Set((topics ?? []).map((t) => t.trim()).filter((t) => t !== ''))].sort();
}

/**
 * Whether the browser's automatic reconnect resumes exactly at `position`:
 * the hub honours a `checkpoint=` in the URL before the `Last-Event-ID` header.
 */
export function nativeResumeIsExact(urlCheckpoint: number | null, lastIdSeen: number | null, position: number | null): boolean {
  const effective = urlCheckpoint ?? lastIdSeen;
  return effective === position;
}

export interface StreamParams {
  clientId: string;
  filter: readonly string[];
  /** Repeated as `topic=`. */
  topics?: readonly string[];
  /** false sends `named=false`: frames without `event:` lines, so `onmessage` gets every type. */
  named?: boolean;
  apiKey?: string | undefined;
  token?: string | undefined;
  checkpoint: number | null;
}

export function buildStreamUrl(base: string, params: StreamParams): string {
  const q = new URLSearchParams();
  q.set('clientId', params.clientId);
  if (params.filter.length > 0) q.set('filter', params.filter.join(','));
  for (const t of params.topics ?? []) q.append('topic', t);
  if (params.named === false) q.set('named', 'false');
  if (params.checkpoint !== null) q.set('checkpoint', String(params.checkpoint));
  if (params.apiKey !== undefined && params.apiKey !== '') q.set('apikey', params.apiKey);
  if (params.token !== undefined && params.token !== '') q.set('token', params.token);
  return `${base}${base.includes('?') ? '&' : '?'}${q.toString()}`;
}
