// What a subscriber wants from a stream, the union of several of them that one
// shared hub connection asks for, and the local check that gives each subscriber
// only its own part of that union again (pure, no I/O).
import { KNOWN_TYPES } from '../events.js';

/** One subscriber's wishes, normalized (see SseClientOptions). */
export interface Interest {
  /** Event types; empty = all. */
  filter: readonly string[];
  /** Topic selectors; empty = no topic-scoped events. */
  topics: readonly string[];
  extraTypes: readonly string[];
  listenAll: boolean;
  resume: boolean;
}

/** What one hub connection asks for: the union of its subscribers' interests. */
export interface StreamShape {
  /** Types for `filter=`; empty = all types. */
  filter: readonly string[];
  /** Selectors for `topic=`. */
  topics: readonly string[];
  /** Named listeners to register, for hubs that ignore `named=false`. */
  listenTypes: readonly string[];
  /** false: ask for unnamed frames (`named=false`). */
  named: boolean;
  /** Resume from and persist the position, and ack it. */
  resume: boolean;
}

/**
 * The hub's default `--max-filter-types`. A union over more types than this asks for
 * all types instead, and subscribers filter locally.
 */
export const MAX_FILTER_TYPES = 32;

const lower = (s: string): string => s.toLowerCase();

function addUnique(out: string[], items: readonly string[], key: (s: string) => string = (s) => s): void {
  for (const item of items) if (!out.some((o) => key(o) === key(item))) out.push(item);
}

export function unionOf(interests: readonly Interest[]): StreamShape {
  const everyType = interests.length === 0 || interests.some((i) => i.filter.length === 0);
  const types: string[] = [];
  const topics: string[] = [];
  const extra: string[] = [];
  for (const i of interests) {
    addUnique(types, i.filter, lower);
    addUnique(topics, i.topics);
    addUnique(extra, i.extraTypes);
  }
  const filter = everyType || types.length > MAX_FILTER_TYPES ? [] : types;
  const listenTypes: string[] = [];
  addUnique(listenTypes, filter.length > 0 ? filter : [...KNOWN_TYPES, ...types, ...extra]);
  addUnique(listenTypes, ['message']);
  return {
    filter,
    topics: topics.sort(),
    listenTypes,
    named: !interests.some((i) => i.listenAll),
    resume: interests.some((i) => i.resume),
  };
}

export function sameShape(a: StreamShape, b: StreamShape): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.filter, b.filter) && same(a.topics, b.topics) && same(a.listenTypes, b.listenTypes) && a.named === b.named && a.resume === b.resume;
}

/** A topic selector matches a topic exactly, or by prefix when it ends in `*`. */
export function topicMatches(selector: string, topic: string): boolean {
  return selector.endsWith('*') ? topic.startsWith(selector.slice(0, -1)) : selector === topic;
}

/**
 * Whether an event of `type` with `topics` is for this subscriber: its type passes the
 * filter (ASCII case-insensitive, as on the hub) and, when it has topics, one of them
 * matches one of the subscriber's selectors.
 */
export function wants(interest: Interest, type: string, topics: readonly string[]): boolean {
  if (interest.filter.length > 0 && !interest.filter.some((f) => lower(f) === lower(type))) return false;
  if (topics.length === 0) return true;
  return topics.some((t) => interest.topics.some((s) => topicMatches(s, t)));
}
