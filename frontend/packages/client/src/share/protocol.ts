// The messages tabs exchange on a stream's BroadcastChannel. The channel's name
// carries the protocol version, so tabs running different versions of this
// package never mix (each then keeps its own connection).
//
//   hello      a tab's subscribers' interests (empty: it left), the position one of
//              them needs replayed from, and the last position the tab saw
//   leader     a tab took the lock: everyone answers with a hello
//   frame      the leader's stream, frame by frame, exactly as it arrived
//   state      the leader's connection state, current `connected` frame and position
//   reconnect  a follower asks the leader to reconnect now
import type { Frame, LinkState } from '../connection.js';
import type { Interest } from './interest.js';

export const PROTOCOL = 1;

export type ConnectedFrame = Extract<Frame, { kind: 'connected' }>;

export type Message =
  | { t: 'hello'; tab: string; interests: Interest[]; need: number | null; seen: number | null }
  | { t: 'leader'; tab: string }
  | { t: 'frame'; tab: string; frame: Frame }
  | { t: 'state'; tab: string; link: LinkState; current: ConnectedFrame | null; position: number | null }
  | { t: 'reconnect'; tab: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isPosition = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');

function isInterest(v: unknown): v is Interest {
  return (
    isObject(v) &&
    isStrings(v.filter) &&
    isStrings(v.topics) &&
    isStrings(v.extraTypes) &&
    typeof v.listenAll === 'boolean' &&
    typeof v.resume === 'boolean'
  );
}

function isFrame(v: unknown): v is Frame {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'connected':
      return isObject(v.info) && typeof v.epoch === 'string' && isPosition(v.asked);
    case 'reset':
      return isObject(v.info);
    case 'event':
      return typeof v.name === 'string' && typeof v.data === 'string' && typeof v.id === 'string';
    default:
      return false;
  }
}

/** The message, if `raw` is one this version speaks; anything else on the channel is ignored. */
export function asMessage(raw: unknown): Message | null {
  if (!isObject(raw) || typeof raw.tab !== 'string') return null;
  switch (raw.t) {
    case 'hello':
      return Array.isArray(raw.interests) && raw.interests.every(isInterest) && isPosition(raw.need) && isPosition(raw.seen) ? (raw as Message) : null;
    case 'leader':
    case 'reconnect':
      return raw as Message;
    case 'frame':
      return isFrame(raw.frame) ? (raw as Message) : null;
    case 'state':
      return isObject(raw.link) && (raw.current === null || isFrame(raw.current)) && isPosition(raw.position) ? (raw as Message) : null;
    default:
      return null;
  }
}
