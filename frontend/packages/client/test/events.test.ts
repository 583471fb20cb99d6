import { describe, expect, it } from 'vitest';
import { parseEvent, summarize } from '../src/events.js';

const base = '"messageId":"m","timestamp":"2026-01-09T10:30:00.123Z","version":"1.0"';

describe('parseEvent', () => {
  it('accepts the documented notification line', () => {
    const raw = `{"_sequence":42,${base},"type":"notification","message":"Deploy finished","severity":"info"}`;
    const p = parseEvent('notification', raw, '42');
    expect(p.kind).toBe('notification');
    expect(summarize(p)).toBe('Deploy finished (info)');
  });

  it('types alerts, data updates, heartbeats, messages and custom types', () => {
    expect(parseEvent('alert', `{"_sequence":1,${base},"type":"alert","message":"m","severity":"high","category":"system"}`, '1').kind).toBe('alert');
    expect(parseEvent('dataUpdate', `{"_sequence":2,${base},"type":"dataUpdate","entityId":"1","entityType":"order","changes":{"a":1}}`, '2').kind).toBe('dataUpdate');
    expect(parseEvent('heartbeat', `{"_sequence":3,${base},"type":"heartbeat"}`, '3').kind).toBe('heartbeat');
    expect(parseEvent('message', `{"_sequence":4,${base},"type":"message","data":"hi"}`, '4').kind).toBe('message');
    const custom = parseEvent('price', `{"_sequence":5,${base},"type":"price","data":42.5}`, '5');
    expect(custom.kind).toBe('custom');
    expect(summarize(custom)).toBe('42.5');
  });

  it('rejects mismatches and missing fields with a reason', () => {
    const wrongType = parseEvent('alert', `{"_sequence":1,${base},"type":"notification","message":"m","severity":"info"}`, '1');
    expect(wrongType).toMatchObject({ kind: 'invalid', sequence: 1 });
    const wrongId = parseEvent('message', `{"_sequence":9,${base},"type":"message","data":1}`, '8');
    expect(wrongId.kind === 'invalid' && wrongId.problem).toMatch(/differs from id 8/);
    const noData = parseEvent('message', `{"_sequence":9,${base},"type":"message"}`, '9');
    expect(noData.kind).toBe('invalid');
    const notObject = parseEvent('message', '[1,2]', '10');
    expect(notObject).toMatchObject({ kind: 'invalid', sequence: 10 });
  });
});

describe('unnamed frames (named=false) and topics', () => {
  it('takes the type of an unnamed frame from its body', () => {
    const p = parseEvent('message', `{"_sequence":7,${base},"type":"alert","message":"m","severity":"high","category":"system"}`, '7');
    expect(p.kind).toBe('alert');
    const custom = parseEvent('message', `{"_sequence":8,${base},"type":"price","data":1}`, '8');
    expect(custom).toMatchObject({ kind: 'custom', event: { type: 'price' } });
  });

  it('keeps an unnamed frame with a broken body visible, typed by its body when it can tell', () => {
    const p = parseEvent('message', `{"_sequence":7,${base},"type":"alert","message":"m"}`, '7');
    expect(p).toMatchObject({ kind: 'invalid', type: 'alert', sequence: 7 });
    expect(p.kind === 'invalid' && p.problem).toMatch(/severity: expected a string/);
  });

  it('reads topics and rejects malformed ones', () => {
    const ok = parseEvent('message', `{"_sequence":1,${base},"type":"message","topics":["org/1"],"data":1}`, '1');
    expect(ok.kind === 'message' && ok.event.topics).toEqual(['org/1']);
    const bad = parseEvent('message', `{"_sequence":1,${base},"type":"message","topics":"org/1","data":1}`, '1');
    expect(bad.kind === 'invalid' && bad.problem).toMatch(/topics: expected a list of strings/);
  });
});
