// Typed event models and their runtime validation (the schema boundary).
//
// Every `data:` line from the hub is one compact JSON object with `_sequence`
// first, then messageId, timestamp, version, type, topics (when it has any), then
// the type's own fields (API.md "Events"). Anything that does not match is kept as
// an `invalid` entry so a UI can show it instead of silently dropping it.
//
// Validation is written by hand rather than with a schema library: the rules are
// a dozen field checks, and the package stays dependency-free and small (a schema
// library would be most of its size and pin its version on every user).

export const KNOWN_TYPES = ['notification', 'alert', 'dataUpdate', 'heartbeat', 'message'] as const;
export type KnownType = (typeof KNOWN_TYPES)[number];

export interface Envelope {
  _sequence: number;
  messageId: string;
  timestamp: string;
  version: string;
  type: string;
  /** The event's topics, when it was published with some. */
  topics?: string[];
}
export interface NotificationEvent extends Envelope {
  message: string;
  severity: string;
}
export interface AlertEvent extends Envelope {
  message: string;
  severity: string;
  category: string;
}
export interface DataUpdateEvent extends Envelope {
  entityId: string;
  entityType: string;
  changes: Record<string, unknown>;
}
export type HeartbeatEvent = Envelope;
/** `message` and custom types carry the published value as is, under `data` (never null). */
export interface DataEvent extends Envelope {
  data: unknown;
}

/** A validated event, discriminated by `kind`; `custom` is any type outside KNOWN_TYPES. */
export type TypedEvent =
  | { kind: 'notification'; event: NotificationEvent }
  | { kind: 'alert'; event: AlertEvent }
  | { kind: 'dataUpdate'; event: DataUpdateEvent }
  | { kind: 'heartbeat'; event: HeartbeatEvent }
  | { kind: 'message'; event: DataEvent }
  | { kind: 'custom'; event: DataEvent };

export interface InvalidEvent {
  kind: 'invalid';
  /** Sequence from the SSE `id:` line when the data could not tell it. */
  sequence: number | null;
  type: string;
  raw: string;
  problem: string;
}

export type ParsedEvent = TypedEvent | InvalidEvent;

/** One entry of the client's bounded event list. */
export interface ReceivedEvent {
  sequence: number | null;
  type: string;
  receivedAt: number;
  parsed: ParsedEvent;
}

export interface ConnectedInfo {
  clientId: string;
  node: string;
  resumeFrom?: number | null;
  headSequence?: number | null;
  /** Topic selectors the hub granted (hubs with topics). */
  topics?: string[];
}

export interface ResetInfo {
  requested: number;
  oldestAvailable: number;
}

// ---- field checks: each returns a problem, or null ----

type Obj = Record<string, unknown>;
type Check = (v: unknown) => string | null;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => (typeof v === 'string' ? null : 'expected a string');
const nonEmpty: Check = (v) => (typeof v === 'string' && v !== '' ? null : 'expected a non-empty string');
const seqNumber: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'expected a sequence number');
const optional =
  (c: Check): Check =>
  (v) =>
    v === undefined ? null : c(v);
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null ? null : c(v);
const strings: Check = (v) => (Array.isArray(v) && v.every((t) => typeof t === 'string') ? null : 'expected a list of strings');
const record: Check = (v) => (isObject(v) ? null : 'expected an object');
const present: Check = (v) => (v === undefined || v === null ? 'data is required' : null);

const ENVELOPE: Record<string, Check> = {
  _sequence: seqNumber,
  messageId: nonEmpty,
  timestamp: nonEmpty,
  version: str,
  type: nonEmpty,
  topics: optional(strings),
};
const FIELDS: Record<string, Record<string, Check>> = {
  notification: { message: str, severity: str },
  alert: { message: str, severity: str, category: str },
  dataUpdate: { entityId: str, entityType: str, changes: record },
  heartbeat: {},
};
const DATA_FIELDS: Record<string, Check> = { data: present };

/** Every problem of `value` against `checks`, as `field: problem`; empty when it conforms. */
function problems(value: Obj, checks: Record<string, Check>): string[] {
  const out: string[] = [];
  for (const [field, check] of Object.entries(checks)) {
    const p = check(value[field]);
    if (p !== null) out.push(`${field}: ${p}`);
  }
  return out;
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch (e) {
    return { ok: false, problem: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

const CONNECTED: Record<string, Check> = {
  clientId: str,
  node: str,
  resumeFrom: optional(nullable(seqNumber)),
  headSequence: optional(nullable(seqNumber)),
  topics: optional(strings),
};
const RESET: Record<string, Check> = { requested: seqNumber, oldestAvailable: seqNumber };

function parseControl<T>(raw: string, checks: Record<string, Check>): T | null {
  const json = parseJson(raw);
  if (!json.ok || !isObject(json.value) || problems(json.value, checks).length > 0) return null;
  return json.value as T;
}

/** The `connected` frame's data; null when malformed. */
export const parseConnected = (raw: string): ConnectedInfo | null => parseControl<ConnectedInfo>(raw, CONNECTED);
/** The `reset` frame's data; null when malformed. */
export const parseReset = (raw: string): ResetInfo | null => parseControl<ResetInfo>(raw, RESET);

/**
 * Validates one event frame. `name` is the SSE `event:` name (`message` for a frame
 * without one, which is every frame of a `named=false` stream: the type is then the
 * body's) and `idLine` the SSE `id:` value; both must agree with the JSON body.
 */
export function parseEvent(name: string, raw: string, idLine: string): ParsedEvent {
  const idSeq = /^\d+$/.test(idLine) ? Number(idLine) : null;
  const json = parseJson(raw);
  const bodyType = json.ok && isObject(json.value) && typeof json.value.type === 'string' && json.value.type !== '' ? json.value.type : null;
  const type = name === 'message' && bodyType !== null ? bodyType : name;
  const invalid = (problem: string): InvalidEvent => ({ kind: 'invalid', sequence: idSeq, type, raw, problem });
  if (!json.ok) return invalid(json.problem);
  if (!isObject(json.value)) return invalid('expected a JSON object');
  const body = json.value;
  const found = problems(body, { ...ENVELOPE, ...(FIELDS[type] ?? DATA_FIELDS) });
  if (found.length > 0) return invalid(found.join('; '));
  if (bodyType !== type) return invalid(`body type "${String(body.type)}" differs from SSE event "${name}"`);
  if (idSeq !== null && body._sequence !== idSeq) return invalid(`_sequence ${String(body._sequence)} differs from id ${idSeq}`);
  return typed(type, body);
}

function typed(type: string, body: Obj): TypedEvent {
  // The checks above proved each shape.
  switch (type) {
    case 'notification':
      return { kind: 'notification', event: body as unknown as NotificationEvent };
    case 'alert':
      return { kind: 'alert', event: body as unknown as AlertEvent };
    case 'dataUpdate':
      return { kind: 'dataUpdate', event: body as unknown as DataUpdateEvent };
    case 'heartbeat':
      return { kind: 'heartbeat', event: body as unknown as HeartbeatEvent };
    case 'message':
      return { kind: 'message', event: body as unknown as DataEvent };
    default:
      return { kind: 'custom', event: body as unknown as DataEvent };
  }
}

/** Sequence of a parsed event, whether valid or not. */
export function sequenceOf(parsed: ParsedEvent): number | null {
  return parsed.kind === 'invalid' ? parsed.sequence : parsed.event._sequence;
}

/** Topics of a parsed event (none for an invalid one). */
export function topicsOf(parsed: ParsedEvent): readonly string[] {
  return parsed.kind === 'invalid' ? [] : (parsed.event.topics ?? []);
}

/** A short human summary of an event for lists. */
export function summarize(parsed: ParsedEvent): string {
  switch (parsed.kind) {
    case 'notification':
      return `${parsed.event.message} (${parsed.event.severity})`;
    case 'alert':
      return `${parsed.event.message} (${parsed.event.severity}, ${parsed.event.category})`;
    case 'dataUpdate':
      return `${parsed.event.entityType} ${parsed.event.entityId} ${JSON.stringify(parsed.event.changes)}`;
    case 'heartbeat':
      return 'heartbeat';
    case 'message':
    case 'custom':
      return typeof parsed.event.data === 'string' ? parsed.event.data : JSON.stringify(parsed.event.data);
    case 'invalid':
      return `invalid event: ${parsed.problem}`;
  }
}
