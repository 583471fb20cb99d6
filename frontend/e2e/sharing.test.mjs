// End-to-end: one hub stream per browser, however many tabs.
// Ten tabs of one browser context (half on the dashboard, half on the three-stream
// example) against the real hub: one tab holds the only EventSource, the others get
// its events over a BroadcastChannel. Then the leader tab closes while events keep
// coming, and every other tab must still show every sequence exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';

const T = 30_000;
const TABS = 10;
const TYPES = ['alert', 'notification', 'dataUpdate'];
/** Where each tab shows events of a type: the dashboard's list, or the example's column for it. */
const COLUMN = { alert: 'Alerts', notification: 'Notifications', dataUpdate: 'Data updates' };

let hub;
let context;
/** { page, path, index, connects: stream URLs it requested } */
const tabs = [];
/** Every event published, in order: { sequence, type }. */
const published = [];

before(async () => {
  hub = await Hub.create();
  await hub.start();
  context = await launchBrowser();
});

after(async () => {
  await context?.close();
  await hub?.kill('SIGTERM');
});

async function stats() {
  const res = await fetch(`${hub.base}/api/sse/stats`);
  assert.equal(res.status, 200);
  return res.json();
}

/** Polls `probe` until it returns a truthy value (bounded); returns that value. */
async function eventually(what, probe, timeout = T) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const BODIES = {
  alert: (i) => ({ message: `shared alert ${i}`, severity: 'high' }),
  notification: (i) => ({ message: `shared note ${i}`, severity: 'info' }),
  dataUpdate: (i) => ({ entityId: `e${i}`, entityType: 'order', changes: { i } }),
};
const ENDPOINT = { alert: '/api/sse/alert', notification: '/api/sse/notification', dataUpdate: '/api/sse/data-update' };

// How long a publish may take before it counts as hanging. What these checks catch is a
// request that never answers: Chrome holds at most 6 HTTP/1.1 connections per host, so with
// a stream per tab the streams (which have no lifetime limit here and never end by
// themselves) would take every slot and a publish would wait for a free one forever. A
// publish that answers is fine however slow the machine is: on this 2-core machine at load
// average 15 one took 2.7 s, so a bound near the usual answer time (it was 2 s) fails for
// the wrong reason. 10 s is far above any slow answer and far below "never".
const ANSWERS_WITHIN_MS = 10_000;

async function publish(i) {
  const type = TYPES[i % TYPES.length];
  const t0 = performance.now();
  const { sequence } = await hub.post(ENDPOINT[type], BODIES[type](i));
  const ms = performance.now() - t0;
  assert.ok(ms < ANSWERS_WITHIN_MS, `publishing ${type} ${i} took ${Math.round(ms)} ms`);
  published.push({ sequence, type });
  return sequence;
}

/** The sequences a tab shows for each of TYPES, in DOM order (duplicates kept, so they can be counted). */
function shown(tab) {
  return tab.page.evaluate(
    ({ dashboard, columns }) => {
      const rows = (root) => [...(root?.querySelectorAll('[data-testid=event-row]') ?? [])];
      const out = {};
      for (const [type, label] of Object.entries(columns)) {
        const root = dashboard ? document.querySelector('[data-testid=dashboard]') : document.querySelector(`section[aria-label="${label}"]`);
        out[type] = rows(root)
          .filter((r) => r.getAttribute('data-type') === type)
          .map((r) => Number(r.getAttribute('data-seq')));
      }
      return out;
    },
    { dashboard: tab.path === '/', columns: COLUMN },
  );
}

/** Waits until `tab` shows every sequence of `expected` ({sequence, type}[]), then checks each is there exactly once. */
async function assertShowsExactlyOnce(tab, expected) {
  let last;
  await eventually(`tab ${tab.index} (${tab.path}) to show ${expected.length} events`, async () => {
    last = await shown(tab);
    return expected.every(({ sequence, type }) => last[type].includes(sequence));
  }).catch((e) => {
    throw new Error(`${e.message}; it shows ${JSON.stringify(last)}`);
  });
  for (const { sequence, type } of expected) {
    const times = last[type].filter((s) => s === sequence).length;
    assert.equal(times, 1, `tab ${tab.index} (${tab.path}) shows ${type} #${sequence} ${times} times`);
  }
}

/** The tab whose page requested the newest stream: the one holding the connection. */
function leader(open) {
  let best = null;
  for (const t of open) for (const c of t.connects) if (best === null || c.at > best.at) best = { tab: t, at: c.at };
  return best?.tab ?? null;
}

test(`${TABS} tabs share one hub stream and every stream of every tab shows every event`, { timeout: 120_000 }, async () => {
  for (let i = 0; i < TABS; i++) {
    const page = i === 0 ? (context.pages()[0] ?? (await context.newPage())) : await context.newPage();
    const tab = { page, index: i, path: i % 2 === 0 ? '/' : '/examples/multiple', connects: [] };
    // EventSource requests only: the pages' own feature probes (fetch) are short reads, not streams.
    page.on('request', (r) => {
      if (r.resourceType() === 'eventsource') tab.connects.push({ url: r.url(), at: performance.now() });
    });
    page.on('pageerror', (e) => console.error(`tab ${i} page error:`, e.message));
    tabs.push(tab);
    await page.goto(`${hub.base}${tab.path}`);
  }
  for (const tab of tabs) {
    const pills = tab.path === '/' ? ['sse-status'] : Object.values(COLUMN).map((c) => `status-${c}`);
    for (const id of pills) await tab.page.locator(`[data-testid="${id}"][data-status=open]`).first().waitFor({ timeout: T });
  }
  await eventually('the hub to count one stream', async () => (await stats()).connections === 1);
  const streamTabs = tabs.filter((t) => t.connects.length > 0);
  assert.equal(streamTabs.length, 1, `one tab opens streams, not ${streamTabs.map((t) => t.index)}`);

  // Publishing from every tab at once answers: no tab holds a connection slot with a stream
  // of its own, so no publish waits for a free one (see ANSWERS_WITHIN_MS). A publish that
  // has not answered by then is given up in the page, so a hang fails here with its reason.
  const answers = await Promise.all(
    tabs.map((tab) =>
      tab.page.evaluate(
        async ({ i, within }) => {
          const t0 = performance.now();
          try {
            const res = await fetch('/api/sse/notification', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ message: `from tab ${i}`, severity: 'info' }),
              signal: AbortSignal.timeout(within),
            });
            const body = await res.json();
            return { i, ms: performance.now() - t0, ok: res.ok, sequence: body.sequence, error: null };
          } catch (e) {
            return { i, ms: performance.now() - t0, ok: false, sequence: null, error: String(e) };
          }
        },
        { i: tab.index, within: ANSWERS_WITHIN_MS },
      ),
    ),
  );
  for (const a of answers) {
    assert.equal(a.error, null, `publish from tab ${a.i} did not answer within ${ANSWERS_WITHIN_MS} ms (waiting for a connection slot?): ${a.error}`);
    assert.ok(a.ok, `publish from tab ${a.i} succeeded`);
    assert.ok(a.ms < ANSWERS_WITHIN_MS, `publish from tab ${a.i} took ${Math.round(a.ms)} ms`);
  }
  for (const a of [...answers].sort((x, y) => x.sequence - y.sequence)) published.push({ sequence: a.sequence, type: 'notification' });

  for (let i = 0; i < 12; i++) await publish(i);
  for (const tab of tabs) await assertShowsExactlyOnce(tab, published);
  assert.equal(tabs.filter((t) => t.connects.length > 0).length, 1, 'still one tab with a stream');
  await eventually('the hub to count one stream for the whole browser', async () => (await stats()).connections === 1);
});

test('the leader tab closes mid-stream: another takes over, every other tab gets every sequence exactly once', { timeout: 120_000 }, async () => {
  const first = leader(tabs);
  assert.ok(first, 'a tab holds the stream');
  const from = published.length;
  let closed = false;
  const publisher = (async () => {
    for (let i = 0; i < 40; i++) {
      await publish(100 + i);
      if (i === 12) {
        await first.page.close();
        closed = true;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  await publisher;
  assert.ok(closed);
  const rest = tabs.filter((t) => t !== first);
  for (const tab of rest) await assertShowsExactlyOnce(tab, published);
  const next = leader(rest);
  assert.ok(next !== null && next.connects.length > 0, 'another tab opened the stream');
  const resumed = new URL(next.connects.at(-1).url);
  assert.ok(resumed.searchParams.has('checkpoint'), `the new leader resumed from a position: ${resumed}`);
  assert.ok(Number(resumed.searchParams.get('checkpoint')) >= published[from - 1].sequence, 'it resumed after what every tab already had');
  // no tab shows anything twice, and between the first and last event of the run nothing is missing
  for (const tab of rest) {
    const have = await shown(tab);
    for (const type of TYPES) {
      const list = have[type];
      assert.equal(new Set(list).size, list.length, `tab ${tab.index} repeats a ${type}`);
      const want = published.filter((p) => p.type === type).map((p) => p.sequence);
      assert.deepEqual([...list].sort((a, b) => a - b), want, `tab ${tab.index} ${type}s`);
    }
  }
  assert.equal(rest.filter((t) => t.connects.some((c) => c.at > first.connects.at(-1).at)).length, 1, 'one tab took over');
  await eventually('the hub to count one stream again', async () => (await stats()).connections === 1);
});

test('a follower tab that disconnects and reconnects recovers exactly what it missed; no other tab shows it twice', { timeout: 120_000 }, async () => {
  const open = tabs.filter((t) => !t.page.isClosed());
  const lead = leader(open);
  const tab = open.find((t) => t !== lead);
  tab.path = '/examples/checkpoint';
  await tab.page.goto(`${hub.base}${tab.path}`);
  const status = tab.page.locator('[data-testid=sse-status]').first();
  await tab.page.locator('[data-testid=sse-status][data-status=open]').first().waitFor({ timeout: T });
  await tab.page.getByTestId('cp-disconnect').click();
  await tab.page.locator('[data-testid=sse-status][data-status=closed]').first().waitFor({ timeout: T });
  await tab.page.getByTestId('cp-publish').click();
  const away = await tab.page.getByTestId('cp-away').filter({ hasText: /#\d+ #\d+ #\d+ #\d+ #\d+/ });
  await away.waitFor({ timeout: T });
  const sequences = [...(await away.textContent()).matchAll(/#(\d+)/g)].map((m) => Number(m[1]));
  await tab.page.getByTestId('cp-reconnect').click();
  await tab.page
    .getByTestId('cp-verdict')
    .filter({ hasText: 'All 5 events published while away were recovered' })
    .waitFor({ timeout: T })
    .catch(async (e) => {
      throw new Error(`${e.message}\nthe page says: ${await tab.page.getByTestId('recovery-report').textContent()}`);
    });
  assert.equal(await status.getAttribute('data-status'), 'open');
  assert.equal(tab.connects.length, 0, 'the checkpoint tab never opened a stream of its own');
  // the leader replayed the missed events for it; every dashboard still shows each of them once
  for (const other of open.filter((t) => t !== tab && t.path === '/')) {
    const rows = await other.page.$$eval('[data-testid=dashboard] [data-testid=event-row]', (rs) => rs.map((r) => Number(r.getAttribute('data-seq'))));
    for (const s of sequences) assert.equal(rows.filter((x) => x === s).length, 1, `tab ${other.index} shows #${s} once`);
  }
  await eventually('the hub to count one stream', async () => (await stats()).connections === 1);
});
