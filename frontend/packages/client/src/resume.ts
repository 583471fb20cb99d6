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
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Whether the browser's automatic reconnect resumes exactly at `position`:
 * the hub honours a `checkpoint=` in the URL before the `Last-Event-ID` header.
 */
export function nativeResumeIsExact(urlCheckpoint: number | null, lastIdSeen: number | null, position: number | null): boolean {
  const effective = urlCheckpoint ?? lastIdSeen;
  return effective === position;
}

export function buildStreamUrl(
  base: string,
  params: { clientId: string; filter: readonly string[]; apiKey?: string; token?: string; checkpoint: number | null },
): string {
  const q = new URLSearchParams();
  q.set('clientId', params.clientId);
  if (params.filter.length > 0) q.set('filter', params.filter.join(','));
  if (params.checkpoint !== null) q.set('checkpoint', String(params.checkpoint));
  if (params.apiKey !== undefined && params.apiKey !== '') q.set('apikey', params.apiKey);
  if (params.token !== undefined && params.token !== '') q.set('token', params.token);
  return `${base}${base.includes('?') ? '&' : '?'}${q.toString()}`;
}
