import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/backoff.js';
import { memoryStore, positionKey } from '../src/storage.js';
import { nativeResumeIsExact, normalizeFilter, SseClient, StreamRegistry, type SseClientOptions } from '../src/index.js';
import { FakeEventSource } from './fakeEventSource';

const BACKOFF = { initialMs: 100, maxMs: 1600, factor: 2 };

function setup(options: Partial<SseClientOptions> = {}, stored: Record<string, string> = {}) {
  const storage = memoryStore(stored);
  const acks: [string, number][] = [];
  /** The URLs the refusal probe fetched. */
  const probes: string[] = [];
  const registry = new StreamRegistry(null); // this page only: no other tabs
  const client = new SseClient(
    { url: '/api/sse/connect', clientId: 'c1', ...options },
    {
      eventSource: (url) => new FakeEventSource(url),
      storage,
      ack: (clientId, sequence) => {
        acks.push([clientId, sequence]);
        return Promise.resolve();
      },
      probe: (url) => {
        probes.push(url);
        return Promise.resolve(url.includes('apikey=') ? null : 'HTTP 401 unauthorized: an API key is required');
      },
      ackDebounceMs: 200,
      backoff: BACKOFF,
      random: () => 1, // upper end of the jitter: delays are exactly the exponential step
      registry,
    },
  );
  return { client, storage, acks, probes, registry, snap: () => client.getSnapshot() };
}

/** Lets the shared stream act on what was just asked (it decides once per microtask turn). */
const flush = () => vi.advanceTimersByTimeAsync(0);

const seqs = (client: SseClient) => client.getSnapshot().events.map((e) => e.sequence);

beforeEach(() => {
  FakeEventSource.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('connecting', () => {
  it('connects with clientId, filter and apikey, and goes open on the connected frame', async () => {
    const { client, snap } = setup({ filter: ['alert', 'NOTIFICATION'], apiKey: 'k 1' });
    const changes = vi.fn();
    client.subscribe(changes);
    client.start();
    await flush();
    expect(snap().status).toBe('connecting');
    const es = FakeEventSource.latest();
    expect(es.params.get('clientId')).toBe('c1');
    expect(es.params.get('filter')).toBe('alert,notification');
    expect(es.params.get('apikey')).toBe('k 1');
    expect(es.params.has('checkpoint')).toBe(false);
    expect(es.types).toEqual(expect.arrayContaining(['connected', 'reset', 'alert', 'notification']));
    expect(es.types).not.toContain('dataUpdate');
    es.open({ node: 'node-a', headSequence: 7 });
    expect(snap().status).toBe('open');
    expect(snap().node).toBe('node-a');
    expect(changes).toHaveBeenCalled();
  });

  it('listens for every known type plus extra types when there is no filter', async () => {
    const { client } = setup({ extraTypes: ['orderShipped'] });
    client.start();
    await flush();
    expect(FakeEventSource.latest().types).toEqual(
      expect.arrayContaining(['notification', 'alert', 'dataUpdate', 'heartbeat', 'message', 'orderShipped']),
    );
  });

  it('validates events and keeps invalid ones visible', async () => {
    const { client, snap } = setup();
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open();
    es.event(1, 'notification', { message: 'hi', severity: 'info' });
    es.event(2, 'alert', { message: 'boom' }); // missing severity and category
    es.dispatch('message', 'not json', '3');
    const kinds = snap().events.map((e) => e.parsed.kind);
    expect(kinds).toEqual(['notification', 'invalid', 'invalid']);
    expect(snap().invalid).toBe(2);
    expect(snap().lastSequence).toBe(3); // an invalid frame still moves the position, or we would loop on it
  });

  it('bounds the event list', async () => {
    const { client, snap } = setup({ maxEvents: 3 });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open();
    for (let i = 1; i <= 5; i++) es.event(i);
    expect(seqs(client)).toEqual([3, 4, 5]);
    expect(snap().received).toBe(5);
  });
});

describe('resume position', () => {
  it('starts from the stored last sequence of this clientId after a reload', async () => {
    const { client, snap } = setup({}, { [positionKey('c1')]: '41' });
    expect(snap().lastSequence).toBe(41);
    client.start();
    await flush();
    expect(FakeEventSource.latest().params.get('checkpoint')).toBe('41');
  });

  it('does not use or write the stored position when resume is off', async () => {
    const { client, storage } = setup({ resume: false }, { [positionKey('c1')]: '41' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    expect(es.params.has('checkpoint')).toBe(false);
    es.open();
    es.event(50);
    expect(storage.get(positionKey('c1'))).toBe('41');
  });

  it('stores the last sequence per clientId as events arrive', async () => {
    const { client, storage } = setup();
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ headSequence: 0 });
    es.event(5);
    es.event(6);
    expect(storage.get(positionKey('c1'))).toBe('6');
  });

  it('remembers the live head as a position when started live with no event yet', async () => {
    const { client, storage } = setup();
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ headSequence: 30 }); // live start: resumeFrom = head
    expect(storage.get(positionKey('c1'))).toBe('30');
    es.fail(true); // browser would retry with no Last-Event-ID: not exact, so we take over
    expect(es.closed).toBe(true);
    vi.advanceTimersByTime(100);
    expect(FakeEventSource.latest().params.get('checkpoint')).toBe('30');
  });

  it('acks the last processed sequence, debounced', async () => {
    const { client, acks } = setup();
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open();
    es.event(1);
    es.event(2);
    es.event(3);
    expect(acks).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(acks).toEqual([['c1', 3]]);
    es.event(4);
    client.stop(); // flushes the pending ack
    expect(acks).toEqual([
      ['c1', 3],
      ['c1', 4],
    ]);
  });

  it('records which sequences were recovered on a resumed connection', async () => {
    const { client, snap } = setup({}, { [positionKey('c1')]: '10' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ resumeFrom: 10, headSequence: 13 });
    es.event(11);
    es.event(12);
    es.event(13);
    es.event(14); // live
    expect(snap().connection?.recovered).toEqual([11, 12, 13]);
  });
});

describe('reconnect', () => {
  it('lets the browser resume with Last-Event-ID when that is exact', async () => {
    const { client, snap } = setup();
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ headSequence: 0 });
    es.event(1);
    es.event(2);
    es.fail(true);
    expect(es.closed).toBe(false);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(snap().status).toBe('reconnecting');
    es.open({ resumeFrom: 2, headSequence: 2 });
    expect(snap().status).toBe('open');
    expect(snap().reconnects).toBe(1);
    expect(snap().history.map((h) => h.status)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('takes over with checkpoint= when the browser would resume from a stale URL checkpoint', async () => {
    const { client } = setup({}, { [positionKey('c1')]: '10' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ resumeFrom: 10, headSequence: 12 });
    es.event(11);
    es.event(12);
    es.fail(true);
    expect(es.closed).toBe(true);
    vi.advanceTimersByTime(100);
    expect(FakeEventSource.latest().params.get('checkpoint')).toBe('12');
  });

  it('backs off exponentially while the hub is down, then resumes from lastSequence', async () => {
    const { client, snap } = setup();
    client.start();
    await flush();
    let es = FakeEventSource.latest();
    es.open({ headSequence: 0 });
    es.event(1);
    es.event(2);
    es.fail(true); // browser retries by itself once
    es.fail(true); // ... and that retry failed: the hub is down
    expect(es.closed).toBe(true);
    expect(snap().status).toBe('reconnecting');
    const delays: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const before = FakeEventSource.instances.length;
      const at = snap().nextRetryAt;
      expect(at).not.toBeNull();
      delays.push((at ?? 0) - Date.now());
      vi.advanceTimersByTime((at ?? 0) - Date.now() - 1);
      expect(FakeEventSource.instances).toHaveLength(before);
      vi.advanceTimersByTime(1);
      expect(FakeEventSource.instances).toHaveLength(before + 1);
      es = FakeEventSource.latest();
      expect(es.params.get('checkpoint')).toBe('2');
      es.fail(true); // connection refused
    }
    expect(delays).toEqual([100, 200, 400, 800, 1600, 1600]);
    vi.advanceTimersByTime(1600);
    es = FakeEventSource.latest();
    es.open({ resumeFrom: 2, headSequence: 4 });
    es.event(3);
    es.event(4);
    expect(seqs(client)).toEqual([1, 2, 3, 4]);
    expect(snap().status).toBe('open');
    // after a success the backoff starts over
    es.fail(false);
    expect(snap().nextRetryAt).toBe(Date.now() + 100);
  });

  it('shows error when the browser gives up (HTTP error), and asks the hub why when the retry is due', async () => {
    const { client, snap, probes } = setup();
    client.start();
    await flush();
    const refusedUrl = FakeEventSource.latest().url;
    FakeEventSource.latest().fail(false);
    expect(snap().status).toBe('error');
    expect(snap().error).toBe('the hub refused the stream (HTTP error or not an event stream); retry 1 in 0.1 s');
    await vi.advanceTimersByTimeAsync(99);
    expect(probes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(probes).toEqual([refusedUrl]);
    // still refused: the hub's reason, and the next retry asks again; no EventSource meanwhile
    expect(snap().status).toBe('error');
    expect(snap().error).toBe('the hub refused the stream: HTTP 401 unauthorized: an API key is required; retry 2 in 0.2 s');
    expect(FakeEventSource.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(probes).toHaveLength(2);
    expect(snap().error).toMatch(/HTTP 401 .*; retry 3 in 0.4 s$/);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('opens the stream once the probe finds the hub takes it, from the position', async () => {
    const { client, snap, probes } = setup({ apiKey: 'k' }); // the fake probe accepts URLs with a key
    client.start();
    await flush();
    let es = FakeEventSource.latest();
    es.open({ headSequence: 0 });
    es.event(1);
    es.fail(false); // e.g. a 503 while the hub restarts
    await vi.advanceTimersByTimeAsync(100);
    expect(probes).toHaveLength(1);
    expect(new URL(probes[0] ?? '', 'http://h').searchParams.get('checkpoint')).toBe('1');
    expect(FakeEventSource.instances).toHaveLength(2);
    es = FakeEventSource.latest();
    expect(es.url).toBe(probes[0]);
    expect(snap().status).toBe('reconnecting');
    es.open({ resumeFrom: 1, headSequence: 2 });
    es.event(2);
    expect(seqs(client)).toEqual([1, 2]);
    expect(snap().status).toBe('open');
  });

  it('a page being left sends no probe and opens no stream (Chrome closes the EventSource just before pagehide)', async () => {
    const { client, probes, registry } = setup({}, { [positionKey('c1')]: '5' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ headSequence: 7 });
    es.event(6);
    es.event(7);
    // the navigation commits: the browser fails the EventSource (CLOSED), then pagehide
    es.fail(false);
    await Promise.resolve();
    registry.suspend();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(probes).toEqual([]);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('ignores a probe answered after stop or a manual reconnect', async () => {
    let answer: (reason: string | null) => void = () => undefined;
    const client = new SseClient(
      { url: '/api/sse/connect', clientId: 'c1' },
      {
        eventSource: (url) => new FakeEventSource(url),
        storage: memoryStore(),
        ack: () => Promise.resolve(),
        probe: () => new Promise((resolve) => (answer = resolve)),
        backoff: BACKOFF,
        random: () => 1,
        registry: new StreamRegistry(null),
      },
    );
    client.start();
    await flush();
    FakeEventSource.latest().fail(false);
    await vi.advanceTimersByTimeAsync(100); // the probe is in flight
    client.reconnectNow();
    expect(FakeEventSource.instances).toHaveLength(2);
    answer(null);
    await flush();
    expect(FakeEventSource.instances).toHaveLength(2);
    FakeEventSource.latest().fail(false);
    await vi.advanceTimersByTimeAsync(100);
    client.stop();
    answer(null);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(client.getSnapshot().status).toBe('closed');
  });

  it('jitters delays between half and the full step', async () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(250);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(500);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5)).toBe(3000);
    expect(backoffDelay(30, DEFAULT_BACKOFF, () => 1)).toBe(15000);
  });

  it('decides when the browser resume is exact', async () => {
    expect(nativeResumeIsExact(null, 5, 5)).toBe(true);
    expect(nativeResumeIsExact(null, null, null)).toBe(true);
    expect(nativeResumeIsExact(3, 5, 5)).toBe(false);
    expect(nativeResumeIsExact(5, null, 5)).toBe(true);
    expect(nativeResumeIsExact(null, null, 9)).toBe(false);
  });

  it('stop closes everything and cancels a pending retry', async () => {
    const { client, snap } = setup();
    client.start();
    await flush();
    FakeEventSource.latest().fail(false);
    client.stop();
    vi.advanceTimersByTime(10_000);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(snap().status).toBe('closed');
  });
});

describe('dedupe', () => {
  it('drops events at or below lastSequence, across reconnects', async () => {
    const { client, snap } = setup();
    client.start();
    await flush();
    let es = FakeEventSource.latest();
    es.open({ headSequence: 0 });
    es.event(1);
    es.event(2);
    es.event(2);
    client.reconnectNow();
    es = FakeEventSource.latest();
    es.open({ headSequence: 3 }); // resumes after 2; frames 1 and 2 repeated anyway (overlapping replay)
    es.event(1);
    es.event(2);
    es.event(3);
    expect(seqs(client)).toEqual([1, 2, 3]);
    expect(snap().duplicates).toBe(3);
  });

  it('ignores frames from a closed EventSource', async () => {
    const { client } = setup();
    client.start();
    await flush();
    const old = FakeEventSource.latest();
    old.open();
    client.reconnectNow();
    old.event(9);
    expect(seqs(client)).toEqual([]);
  });
});

describe('hub behind our position', () => {
  it('lowers the watermark when the hub caps our checkpoint at a lower head (new store)', async () => {
    const { client, snap, storage } = setup({}, { [positionKey('c1')]: '41' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ headSequence: 0 }); // capped: resumeFrom 0
    expect(snap().rewound).toMatchObject({ from: 41, to: 0 });
    es.event(1);
    es.event(2);
    expect(seqs(client)).toEqual([1, 2]);
    expect(storage.get(positionKey('c1'))).toBe('2');
  });
});

describe('filter changes', () => {
  it('normalizes filters', async () => {
    expect(normalizeFilter([' Alert', 'alert', 'custom.x', '', 'DATAUPDATE'])).toEqual(['alert', 'custom.x', 'dataUpdate']);
  });

  it('reconnects with the new filter from the current position, keeping the list', async () => {
    const { client } = setup({ filter: ['alert'] });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open();
    es.event(4, 'alert', { message: 'a', severity: 'high', category: 'system' });
    client.setOptions({ url: '/api/sse/connect', clientId: 'c1', filter: ['alert', 'notification'] });
    await flush();
    expect(es.closed).toBe(true);
    const next = FakeEventSource.latest();
    expect(next).not.toBe(es);
    expect(next.params.get('filter')).toBe('alert,notification');
    expect(next.params.get('checkpoint')).toBe('4');
    expect(next.types).toContain('notification');
    expect(seqs(client)).toEqual([4]);
  });

  it('does not reconnect when nothing changed', async () => {
    const { client } = setup({ filter: ['alert'] });
    client.start();
    await flush();
    client.setOptions({ url: '/api/sse/connect', clientId: 'c1', filter: ['Alert'] });
    await flush();
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('a new clientId starts from its own stored position with an empty list', async () => {
    const { client, snap } = setup({}, { [positionKey('c2')]: '77' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open();
    es.event(1);
    client.setOptions({ url: '/api/sse/connect', clientId: 'c2' });
    await flush();
    const next = FakeEventSource.latest();
    expect(next.params.get('clientId')).toBe('c2');
    expect(next.params.get('checkpoint')).toBe('77');
    expect(snap().events).toEqual([]);
    expect(snap().lastSequence).toBe(77);
  });

  it('an api key change reconnects with the new key', async () => {
    const { client } = setup({ apiKey: 'a' });
    client.start();
    await flush();
    client.setOptions({ url: '/api/sse/connect', clientId: 'c1', apiKey: 'b' });
    await flush();
    expect(FakeEventSource.latest().params.get('apikey')).toBe('b');
  });

  it('sends a client token as token= and reconnects when it changes', async () => {
    const { client } = setup({ token: 't1' });
    client.start();
    await flush();
    expect(FakeEventSource.latest().params.get('token')).toBe('t1');
    client.setOptions({ url: '/api/sse/connect', clientId: 'c1', token: 't2' });
    await flush();
    expect(FakeEventSource.latest().params.get('token')).toBe('t2');
  });
});

describe('reset', () => {
  it('records that history was truncated and continues from the oldest available event', async () => {
    const { client, snap } = setup({}, { [positionKey('c1')]: '5' });
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open({ resumeFrom: 5, headSequence: 120 });
    es.dispatch('reset', JSON.stringify({ requested: 5, oldestAvailable: 100 }), undefined);
    expect(snap().reset).toMatchObject({ requested: 5, oldestAvailable: 100 });
    es.event(100);
    es.event(101);
    expect(seqs(client)).toEqual([100, 101]);
    expect(snap().lastSequence).toBe(101);
  });

  it('flags a malformed reset frame instead of ignoring it', async () => {
    const { client, snap } = setup();
    client.start();
    await flush();
    const es = FakeEventSource.latest();
    es.open();
    es.dispatch('reset', '{"requested":"x"}', undefined);
    expect(snap().reset).toBeNull();
    expect(snap().error).toMatch(/malformed reset/);
  });
});
