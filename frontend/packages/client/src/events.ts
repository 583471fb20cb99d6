// Typed event models and their runtime validation (the schema boundary).
//
// Every `data:` line from the hub is one compact JSON object with `_sequence`
// first, then messageId, timestamp, version, type, then the type's own fields
// (API.md "Events"). Anything that does not match is kept as an `invalid`
// entry so the UI can show it instead of silently dropping it.
import { z } from 'zod';

export const KNOWN_TYPES = ['notification', 'alert', 'dataUpdate', 'heartbeat', 'message'] as const;
export type KnownType = (typeof KNOWN_TYPES)[number];

const envelope = z.object({
  _sequence: z.number().int().nonnegative(),
  messageId: z.string().min(1),
  timestamp: z.string().min(1),
  version: z.string(),
  type: z.string().min(1),
});

const notification = envelope.extend({ message: z.string(), severity: z.string() });
const alert = envelope.extend({ message: z.string(), severity: z.string(), category: z.string() });
const dataUpdate = envelope.extend({
  entityId: z.string(),
  entityType: z.string(),
  changes: z.record(z.string(), z.unknown()),
});
const heartbeat = envelope;
// `message` and custom types carry the published value as is, under `data`
// (any JSON value except null; absent is an error).
const withData = envelope.extend({ data: z.unknown().refine((v) => v !== undefined && v !== null, 'data is required') });

export type Envelope = z.infer<typeof envelope>;
export type NotificationEvent = z.infer<typeof notification>;
export type AlertEvent = z.infer<typeof alert>;
export type DataUpdateEvent = z.infer<typeof dataUpdate>;
export type HeartbeatEvent = z.infer<typeof heartbeat>;
export type DataEvent = z.infer<typeof withData>;

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

export const connectedSchema = z.object({
  clientId: z.string(),
  node: z.string(),
  resumeFrom: z.number().int().nonnegative().nullable().optional(),
  headSequence: z.number().int().nonnegative().nullable().optional(),
});
export type ConnectedInfo = z.infer<typeof connectedSchema>;

export const resetSchema = z.object({
  requested: z.number().int().nonnegative(),
  oldestAvailable: z.number().int().nonnegative(),
});
export type ResetInfo = z.infer<typeof resetSchema>;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch (e) {
    return { ok: false, problem: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Parses a control frame (`connected`, `reset`); returns null when malformed. */
export function parseControl<T>(schema: z.ZodType<T>, raw: string): T | null {
  const json = parseJson(raw);
  if (!json.ok) return null;
  const result = schema.safeParse(json.value);
  return result.success ? result.data : null;
}

/**
 * Validates one event frame. `type` is the SSE `event:` name and `idLine` the
 * SSE `id:` value; both must agree with the JSON body.
 */
export function parseEvent(type: string, raw: string, idLine: string): ParsedEvent {
  const idSeq = /^\d+$/.test(idLine) ? Number(idLine) : null;
  const invalid = (problem: string): InvalidEvent => ({ kind: 'invalid', sequence: idSeq, type, raw, problem });
  const json = parseJson(raw);
  if (!json.ok) return invalid(json.problem);
  const typed = validate(type, json.value);
  if ('problem' in typed) return invalid(typed.problem);
  const ev = typed.event;
  if (ev.type !== type) return invalid(`body type "${ev.type}" differs from SSE event "${type}"`);
  if (idSeq !== null && ev._sequence !== idSeq) return invalid(`_sequence ${ev._sequence} differs from id ${idSeq}`);
  return typed;
}

function validate(type: string, value: unknown): TypedEvent | { problem: string } {
  const run = <T>(schema: z.ZodType<T>, wrap: (v: T) => TypedEvent) => {
    const r = schema.safeParse(value);
    return r.success ? wrap(r.data) : { problem: describe(r.error) };
  };
  switch (type) {
    case 'notification':
      return run(notification, (event) => ({ kind: 'notification', event }));
    case 'alert':
      return run(alert, (event) => ({ kind: 'alert', event }));
    case 'dataUpdate':
      return run(dataUpdate, (event) => ({ kind: 'dataUpdate', event }));
    case 'heartbeat':
      return run(heartbeat, (event) => ({ kind: 'heartbeat', event }));
    case 'message':
      return run(withData, (event) => ({ kind: 'message', event }));
    default:
      return run(withData, (event) => ({ kind: 'custom', event }));
  }
}

/** Sequence of a parsed event, whether valid or not. */
export function sequenceOf(parsed: ParsedEvent): number | null {
  return parsed.kind === 'invalid' ? parsed.sequence : parsed.event._sequence;
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
