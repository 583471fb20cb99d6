import { describe, expect, it } from 'vitest';
import { asMessage } from '../src/share/protocol.js';
import { MAX_FILTER_TYPES, sameShape, topicMatches, unionOf, wants, type Interest } from '../src/share/interest.js';

const interest = (o: Partial<Interest> = {}): Interest => ({ filter: [], topics: [], extraTypes: [], listenAll: true, resume: true, ...o });

describe('the union a shared connection asks for', () => {
  it('asks for every type when any subscriber wants every type, else for the union', () => {
    expect(unionOf([interest({ filter: ['alert'] }), interest({ filter: ['Alert', 'notification'] })]).filter).toEqual(['alert', 'notification']);
    expect(unionOf([interest({ filter: ['alert'] }), interest()]).filter).toEqual([]);
  });

  it('asks for every type rather than more than the hub allows in a filter', () => {
    const many = Array.from({ length: MAX_FILTER_TYPES + 1 }, (_, i) => `t${i}`);
    expect(unionOf([interest({ filter: many.slice(0, 20) }), interest({ filter: many.slice(20) })]).filter).toEqual([]);
  });

  it('unions topics, listens for every name anyone may need, and asks for unnamed frames if anyone does', () => {
    const shape = unionOf([
      interest({ topics: ['org/2'], filter: ['price'], listenAll: false }),
      interest({ topics: ['org/1/*'], extraTypes: ['orderShipped'], listenAll: true }),
    ]);
    expect(shape.topics).toEqual(['org/1/*', 'org/2']);
    expect(shape.listenTypes).toEqual(expect.arrayContaining(['message', 'alert', 'price', 'orderShipped']));
    expect(shape.named).toBe(false);
    expect(unionOf([interest({ listenAll: false })]).named).toBe(true);
    expect(unionOf([interest({ resume: false }), interest()]).resume).toBe(true);
  });

  it('compares shapes by value', () => {
    expect(sameShape(unionOf([interest({ filter: ['a'] })]), unionOf([interest({ filter: ['a'] })]))).toBe(true);
    expect(sameShape(unionOf([interest({ filter: ['a'] })]), unionOf([interest({ filter: ['b'] })]))).toBe(false);
  });
});

describe("a subscriber's own part of the shared stream", () => {
  it('matches types ignoring ASCII case, as the hub does', () => {
    expect(wants(interest({ filter: ['dataUpdate'] }), 'DATAUPDATE', [])).toBe(true);
    expect(wants(interest({ filter: ['alert'] }), 'message', [])).toBe(false);
  });

  it('gives topic-scoped events only to matching selectors, and events without topics to everyone', () => {
    expect(topicMatches('org/42/*', 'org/42/room1')).toBe(true);
    expect(topicMatches('org/42/*', 'org/4')).toBe(false);
    expect(topicMatches('org/42', 'org/42/room1')).toBe(false);
    expect(wants(interest(), 'message', ['org/1'])).toBe(false);
    expect(wants(interest({ topics: ['org/*'] }), 'message', ['x', 'org/1'])).toBe(true);
    expect(wants(interest({ topics: ['org/*'] }), 'message', [])).toBe(true);
  });
});

describe('channel messages', () => {
  it('accepts what this version speaks and ignores anything else', () => {
    expect(asMessage({ t: 'leader', tab: 'a' })).toEqual({ t: 'leader', tab: 'a' });
    expect(asMessage({ t: 'hello', tab: 'a', interests: [], need: null, seen: 3 })).not.toBeNull();
    expect(asMessage({ t: 'hello', tab: 'a', interests: [], need: -1, seen: null })).toBeNull();
    expect(asMessage({ t: 'hello', tab: 'a', interests: [interest()], need: null, seen: null })).not.toBeNull();
    expect(asMessage({ t: 'hello', tab: 'a', interests: [{ filter: 'alert' }], need: null, seen: null })).toBeNull();
    expect(asMessage({ t: 'frame', tab: 'a', frame: { kind: 'event', name: 'x', data: 1, id: '1' } })).toBeNull();
    expect(asMessage({ t: 'nope', tab: 'a' })).toBeNull();
    expect(asMessage('hello')).toBeNull();
  });
});
