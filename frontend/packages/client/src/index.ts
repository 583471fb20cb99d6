// @ssehub/client: the framework-free core. `@ssehub/client/react` adds the useSse hook.
export { SseClient } from './client.js';
export type * from './types.js';
export { buildStreamUrl, nativeResumeIsExact, normalizeFilter, normalizeTopics, type StreamParams } from './resume.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export {
  KNOWN_TYPES,
  parseConnected,
  parseEvent,
  parseReset,
  sequenceOf,
  summarize,
  topicsOf,
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
export { StreamRegistry, pageRegistry } from './share/registry.js';
export { browserPlatform, type ChannelLike, type LocksLike, type Platform } from './share/platform.js';
export { topicMatches } from './share/interest.js';
