import { describe, expect, it } from 'vitest';
import { sentFilter } from '../components/FilterPicker';
import { parseTopicList } from '../components/TopicsField';

describe('the filter label', () => {
  it('reads the filter= the stream URL carries', () => {
    expect(sentFilter('/api/sse/connect?clientId=a&filter=alert%2Cnotification&named=false')).toBe('alert,notification');
    expect(sentFilter('/api/sse/connect?clientId=a')).toBeNull();
    expect(sentFilter(null)).toBeNull();
  });
});

describe('topics', () => {
  it('splits on spaces (a comma is a valid topic character) and rejects bad ones', () => {
    expect(parseTopicList('org/42/room1  a,b')).toEqual({ valid: ['org/42/room1', 'a,b'], invalid: [] });
    expect(parseTopicList('ok bad#topic')).toEqual({ valid: ['ok'], invalid: ['bad#topic'] });
  });

  it('accepts a trailing * only as a stream selector', () => {
    expect(parseTopicList('org/42/*').valid).toEqual([]);
    expect(parseTopicList('org/42/* *', true).valid).toEqual(['org/42/*', '*']);
  });
});
