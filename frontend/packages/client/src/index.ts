// @ssehub/client: the framework-free core. `@ssehub/client/react` adds the useSse hook.
export { SseClient } from './client.js';
export type * from './types.js';
export { buildStreamUrl, nativeResumeIsExact, normalizeFilter } from './resume.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export {
  KNOWN_TYPES,
  parseEvent,
  sequenceOf,
  summarize,
  type AlertEvent,
  type ConnectedInfo,
  type DataEvent,
  type DataUpdateEvent,
  type Envelope,
  type HeartbeatEvent,
  type InvalidEvent,
  type KnownType,
  type NotificationEvent,
  type ParsedEvent,
  type ReceivedEvent,
  type ResetInfo,
  type TypedEvent,
} from './events.js';
export { isValidClientId, loadPosition, memoryStore, positionKey, resolveClientId, savePosition, webStore, type KeyValueStore } from './storage.js';
