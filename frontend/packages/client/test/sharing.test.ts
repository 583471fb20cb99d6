// Sharing one hub stream between the clients of a page and the tabs of a browser,
// with fake Web Locks, BroadcastChannel and hub (see fakeTabs.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SseClient } from '../src/index.js';
import { positionKey } from '../src/storage.js';
import { FakeEventSource } from './fakeEventSource.js';
import { FakeBrowser, FakeHub } from './fakeTabs.js';

/** Runs every queued microtask chain (lock grants, channel messages, stream decisions). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

const seqs = (c: SseClient) => c.getSnapshot().events.map((e) => e.sequence);
const types = (c: SseClient) => c.getSnapshot().events.map((e) => e.type);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let hub: FakeHub;
let browser: FakeBrowser;

beforeEach(() => {
  FakeEventSource.reset();
  vi.useFakeTimers();
  hub = new FakeHub();
  browser = new FakeBrowser();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Opens every pending stream on the hub and lets the tabs react. */
async function serve(): Promise<void> {
  await settle();
  hub.acceptPending();
  await settle();
}

describe('within one page', () => {
  it('clients of the same stream share one EventSource asking for the union, and each gets its own types', async () => {
    const tab = browser.tab(false);
    const alerts = tab.client({ filter: ['alert'] });
    const notes = tab.client({ filter: ['notification'] });
    const all = tab.client();
    alerts.start();
    notes.start();
    await serve();
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.latest().params.get('filter')).toBe('alert,notification');
    expect(FakeEventSource.latest().params.get('named')).toBe('false');
    all.start();
    await serve();
    const es = FakeEventSource.latest();
    expect(FakeEventSource.live()).toEqual([es]);
    expect(es.params.has('filter')).toBe(false); // one subscriber wants every type
    hub.publish('alert', [], { message: 'a', severity: 'high', category: 'system' });
    hub.publish('notification', [], { message: 'n', severity: 'info' });
    hub.publish('price', [], { data: 1 });
    expect(types(alerts)).toEqual(['alert']);
    expect(types(notes)).toEqual(['notification']);
    expect(types(all)).toEqual(['alert', 'notification', 'price']);
    expect(all.getSnapshot().role).toBe('solo');
    expect(all.getSnapshot().unnamedFrames).toBe(true);
  });

  it('widening the union reconnects from the position: nothing lost, nothing twice', async () => {
    const tab = browser.tab(false);
    const a = tab.client({ filter: ['alert'] });
    a.start();
    await serve();
    hub.publish('alert', [], { message: 'a', severity: 'high', category: 'system' });
    const b = tab.client({ filter: ['message'] });
    b.start();
    await settle();
    const next = FakeEventSource.latest();
    expect(next.params.get('filter')).toBe('alert,message');
    expect(next.params.get('checkpoint')).toBe('1');
    hub.publish('message'); // published while reconnecting
    await serve();
    hub.publish('alert', [], { message: 'b', severity: 'high', category: 'system' });
    expect(seqs(a)).toEqual([1, 3]);
    expect(seqs(b)).toEqual([2]);
    expect(a.getSnapshot().duplicates + b.getSnapshot().duplicates).toBe(0);
  });

  it('applies topics locally: events without topics reach everyone, topic events only matching selectors', async () => {
    const tab = browser.tab(false);
    const room1 = tab.client({ topics: ['org/42/room1'] });
    const org = tab.client({ topics: ['org/42/*'] });
    const none = tab.client();
    for (const c of [room1, org, none]) c.start();
    await serve();
    expect(FakeEventSource.latest().params.getAll('topic')).toEqual(['org/42/*', 'org/42/room1']);
    hub.publish('message', ['org/42/room1']);
    hub.publish('message', ['org/42/room2']);
    hub.publish('message');
    expect(seqs(room1)).toEqual([1, 3]);
    expect(seqs(org)).toEqual([1, 2, 3]);
    expect(seqs(none)).toEqual([3]);
  });

  it('share: false gives a client its own EventSource', async () => {
    const tab = browser.tab(false);
    tab.client().start();
    tab.client({ share: false }).start();
    await serve();
    expect(FakeEventSource.live()).toHaveLength(2);
  });

  it('still receives every type from a hub that names its frames (ignores named=false)', async () => {
    FakeEventSource.hubHonoursUnnamed = false;
    const tab = browser.tab(false);
    const c = tab.client({ extraTypes: ['price'] });
    c.start();
    await serve();
    expect(FakeEventSource.latest().types).toEqual(expect.arrayContaining(['message', 'alert', 'price']));
    hub.publish('alert', [], { message: 'a', severity: 'high', category: 'system' });
    hub.publish('price', [], { data: 2 });
    expect(types(c)).toEqual(['alert', 'price']);
    expect(c.getSnapshot().invalid).toBe(0);
    expect(c.getSnapshot().unnamedFrames).toBe(false);
  });
});

describe('across tabs', () => {
  it('one tab holds the only EventSource; the others get every event over the channel and filter for themselves', async () => {
    const tabs = [browser.tab(), browser.tab(), browser.tab()];
    const clients = tabs.map((t, i) => t.client(i === 2 ? { filter: ['alert'] } : {}));
    for (const c of clients) c.start();
    await serve();
    expect(FakeEventSource.live()).toHaveLength(1);
    const leader = FakeEventSource.latest().tab;
    expect(clients.map((c) => c.getSnapshot().role)).toEqual(tabs.map((t) => (t.id === leader ? 'leader' : 'follower')));
    expect(clients.map((c) => c.getSnapshot().status)).toEqual(['open', 'open', 'open']);
    hub.publish('message');
    hub.publish('alert', [], { message: 'a', severity: 'high', category: 'system' });
    await settle();
    expect(clients.map(seqs)).toEqual([[1, 2], [1, 2], [2]]);
    // only the leader acks (and persists) the shared client id
    await vi.advanceTimersByTimeAsync(200);
    expect(tabs.filter((t) => t.acks.length > 0).map((t) => t.id)).toEqual([leader]);
    expect(browser.storage.get(positionKey('web-1'))).toBe('2');
  });

  it("a follower's filter joins the union: the leader reconnects from its position", async () => {
    const [t1, t2] = [browser.tab(), browser.tab()];
    const a = t1.client({ filter: ['alert'] });
    a.start();
    await serve();
    hub.publish('alert', [], { message: 'a', severity: 'high', category: 'system' });
    const b = t2.client({ filter: ['notification'] });
    b.start();
    await serve();
    expect(FakeEventSource.live()).toHaveLength(1);
    const es = FakeEventSource.latest();
    expect(es.tab).toBe(t1.id);
    expect(es.params.get('filter')).toBe('alert,notification');
    expect(es.params.get('checkpoint')).toBe('1');
    hub.publish('notification', [], { message: 'n', severity: 'info' });
    await settle();
    expect(seqs(a)).toEqual([1]);
    expect(seqs(b)).toEqual([2]);
  });

  it('when the leader tab closes mid-stream, another takes over from the last sequence it saw: no gap, no duplicate anywhere', async () => {
    const tabs = Array.from({ length: 5 }, () => browser.tab());
    const clients = tabs.map((t) => t.client());
    for (const c of clients) c.start();
    await serve();
    for (let i = 0; i < 5; i++) hub.publish();
    await settle();
    const first = FakeEventSource.latest();
    const leaderTab = tabs.find((t) => t.id === first.tab);
    leaderTab?.close();
    hub.publish(); // published while nobody is connected
    hub.publish();
    await serve();
    const second = FakeEventSource.latest();
    expect(second).not.toBe(first);
    expect(FakeEventSource.live()).toEqual([second]);
    expect(second.params.get('checkpoint')).toBe('5');
    for (let i = 0; i < 5; i++) hub.publish();
    await settle();
    for (const [i, c] of clients.entries()) {
      if (tabs[i] === leaderTab) continue;
      expect(seqs(c)).toEqual(range(1, 12));
      expect(c.getSnapshot().duplicates).toBe(0);
    }
    expect(clients.filter((c) => c.getSnapshot().role === 'leader')).toHaveLength(2); // the new leader, and the closed tab's stale view
  });

  it('a tab that saw less than the new leader makes it replay what it missed', async () => {
    const [t1, t2, t3] = [browser.tab(), browser.tab(), browser.tab()];
    const clients = [t1, t2, t3].map((t) => t.client());
    clients[0]?.start();
    await serve();
    clients[1]?.start();
    clients[2]?.start();
    await serve();
    hub.publish();
    await settle();
    browser.bus.deaf.add(t3.id); // t3 misses #2 and #3
    hub.publish();
    hub.publish();
    await settle();
    browser.bus.deaf.delete(t3.id);
    t1.crash();
    await serve(); // t2 leads from #3; t3 answers that it saw #1 only
    await serve();
    hub.publish();
    await settle();
    expect(clients.slice(1).map(seqs)).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
    expect(FakeEventSource.live().map((es) => es.tab)).toEqual([t2.id]);
    expect(FakeEventSource.latest().params.get('checkpoint')).toBe('1');
  });

  it('a leader tab that dies without pagehide is replaced the same way', async () => {
    const tabs = [browser.tab(), browser.tab(), browser.tab()];
    const clients = tabs.map((t) => t.client());
    for (const c of clients) c.start();
    await serve();
    hub.publish();
    await settle();
    const dead = tabs.find((t) => t.id === FakeEventSource.latest().tab);
    dead?.crash();
    hub.publish();
    await serve();
    hub.publish();
    await settle();
    for (const [i, c] of clients.entries()) if (tabs[i] !== dead) expect(seqs(c)).toEqual([1, 2, 3]);
    expect(FakeEventSource.live()).toHaveLength(1);
  });

  it('a leader whose last subscriber stops hands over, and the tab rejoins as a follower', async () => {
    const [t1, t2] = [browser.tab(), browser.tab()];
    const a = t1.client();
    const b = t2.client();
    a.start();
    await serve();
    b.start();
    await serve();
    expect(FakeEventSource.latest().tab).toBe(t1.id);
    hub.publish();
    await settle();
    a.stop();
    expect(a.getSnapshot().status).toBe('closed');
    await serve();
    expect(FakeEventSource.live().map((es) => es.tab)).toEqual([t2.id]);
    hub.publish();
    await settle();
    expect(seqs(b)).toEqual([1, 2]);
    a.start();
    await serve();
    expect(a.getSnapshot().role).toBe('follower');
    // a missed #2 while stopped: the leader replays it for a; b drops its copy
    expect(seqs(a)).toEqual([1, 2]);
    hub.publish();
    await settle();
    expect(seqs(a)).toEqual([1, 2, 3]);
    expect(seqs(b)).toEqual([1, 2, 3]);
    expect(b.getSnapshot().duplicates).toBe(0);
    expect(FakeEventSource.live()).toHaveLength(1);
  });

  it('a follower that disconnects and reconnects recovers exactly what was published while it was away', async () => {
    const [t1, t2] = [browser.tab(), browser.tab()];
    const dash = t1.client();
    const cp = t2.client();
    dash.start();
    await serve();
    cp.start();
    await serve();
    hub.publish();
    await settle();
    cp.stop();
    const away = [hub.publish(), hub.publish(), hub.publish()];
    await settle();
    const stored: string[] = [];
    const set = browser.storage.set;
    browser.storage.set = (k, v) => {
      stored.push(v);
      set(k, v);
    };
    cp.start();
    await serve();
    expect(cp.getSnapshot().connection?.recovered).toEqual(away);
    expect(seqs(cp)).toEqual([1, ...away]);
    expect(seqs(dash)).toEqual([1, ...away]);
    expect(dash.getSnapshot().duplicates).toBe(0);
    expect(stored.filter((v) => Number(v) < 4)).toEqual([]); // the replay for cp never moved the stored position back
  });

  it('a follower that joined a quiet stream and reconnects recovers what was published while it was away', async () => {
    const [t1, t2] = [browser.tab(), browser.tab()];
    const dash = t1.client();
    dash.start();
    await serve();
    hub.publish();
    hub.publish();
    await settle();
    const cp = t2.client(); // joins at #2 with nothing new to receive
    cp.start();
    await serve();
    cp.stop();
    const away = [hub.publish(), hub.publish()];
    await settle();
    cp.start();
    await serve();
    expect(cp.getSnapshot().connection?.recovered).toEqual(away);
    expect(seqs(cp)).toEqual(away);
    expect(seqs(dash)).toEqual([1, 2, ...away]);
  });

  it("a follower's reconnect request makes the leader reconnect", async () => {
    const [t1, t2] = [browser.tab(), browser.tab()];
    const a = t1.client();
    const b = t2.client();
    a.start();
    await serve();
    b.start();
    await serve();
    const before = FakeEventSource.latest();
    b.reconnectNow();
    await serve();
    expect(before.closed).toBe(true);
    expect(FakeEventSource.live().map((es) => es.tab)).toEqual([t1.id]);
    expect(b.getSnapshot().reconnects).toBe(1);
    expect(a.getSnapshot().reconnects).toBe(1);
  });

  it('a tab in the back/forward cache hands its stream over, and takes its clients back when shown', async () => {
    const [t1, t2] = [browser.tab(), browser.tab()];
    const a = t1.client();
    const b = t2.client();
    a.start();
    await serve();
    b.start();
    await serve();
    hub.publish();
    await settle();
    t1.hide();
    await serve();
    expect(FakeEventSource.live().map((es) => es.tab)).toEqual([t2.id]);
    hub.publish();
    t1.show();
    await serve();
    hub.publish();
    await settle();
    expect(a.getSnapshot().role).toBe('follower');
    expect(seqs(a)).toEqual([1, 2, 3]);
    expect(seqs(b)).toEqual([1, 2, 3]);
    expect(FakeEventSource.live()).toHaveLength(1);
  });

  it('tabs with different credentials or client ids do not share', async () => {
    const [t1, t2, t3] = [browser.tab(), browser.tab(), browser.tab()];
    t1.client().start();
    t2.client({ apiKey: 'k2' }).start();
    t3.client({ clientId: 'web-2' }).start();
    await serve();
    expect(FakeEventSource.live()).toHaveLength(3);
  });

  it('without Web Locks or BroadcastChannel each tab keeps its own stream', async () => {
    const clients = [browser.tab(false), browser.tab(false)].map((t) => t.client());
    for (const c of clients) c.start();
    await serve();
    expect(FakeEventSource.live()).toHaveLength(2);
    hub.publish();
    for (const c of clients) expect(seqs(c)).toEqual([1]);
  });

  it('a new tab joins live at the stream position, not from an older stored one', async () => {
    const t1 = browser.tab();
    const a = t1.client();
    a.start();
    await serve();
    for (let i = 0; i < 3; i++) hub.publish();
    browser.storage.set(positionKey('web-1'), '1'); // stale, as if written long ago
    const t2 = browser.tab();
    const b = t2.client();
    b.start();
    await serve();
    expect(FakeEventSource.live()).toHaveLength(1);
    hub.publish();
    await settle();
    expect(seqs(b)).toEqual([4]);
  });
});
