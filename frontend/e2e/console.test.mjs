// End-to-end: the operator console against a real hub with streams on it.
// Three streams are held open from Node (their own client ids and filters) while a
// publisher feeds the hub, so nodes, rates, the chart and the connections list have
// something to show. Every feature the console reads is on the hub now: a hub without one
// fails its test, naming the feature (detected by asking the hub), instead of skipping it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';
import { getJson, hubFeatures, MISSING, screenshot, T, until } from './support.mjs';

let hub;
let context;
let page;
let features;
const held = [];

/** A stream held open from Node, read and discarded until closed. */
function holdStream(query) {
  const abort = new AbortController();
  const done = fetch(`${hub.base}/api/sse/connect?${query}`, { signal: abort.signal })
    .then(async (res) => {
      const reader = res.body.getReader();
      for (;;) if ((await reader.read()).done) return;
    })
    .catch(() => undefined);
  held.push({ abort, done });
}

function holdStreams() {
  holdStream('clientId=console-alerts&filter=alert');
  holdStream('clientId=console-all');
  holdStream('clientId=console-notes&filter=notification,dataUpdate');
}

async function releaseStreams() {
  for (const h of held.splice(0)) {
    h.abort.abort();
    await h.done;
  }
}

/** Publishes one event every 100 ms until `condition` holds (bounded). */
async function publishUntil(condition, what) {
  let n = 0;
  await until(async () => {
    await hub.post('/api/sse/broadcast', { data: { tick: n++ } });
    return condition();
  }, what);
}

before(async () => {
  hub = await Hub.create(['--retention-max-events', '1000']);
  await hub.start();
  features = await hubFeatures(hub);
  holdStreams();
  await until(async () => (await getJson(hub, '/api/sse/stats')).body.connections >= 3, 'three streams on the hub');
  context = await launchBrowser();
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await releaseStreams();
  await context?.close();
  await hub?.kill('SIGTERM');
});

const text = async (testId) => ((await page.getByTestId(testId).first().textContent()) ?? '').trim();

test('Nodes: the node, its streams and clients, store and head sequence', async () => {
  await page.goto(`${hub.base}/console`);
  const stats = (await getJson(hub, '/api/sse/stats')).body;
  const row = page.locator(`[data-testid=node-row][data-node="${stats.node}"]`);
  await row.waitFor({ timeout: T });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=node-streams]')?.textContent) >= 3, null, { timeout: T });
  assert.equal(await row.getByTestId('node-store').textContent(), 'available');
  await page.locator('[data-testid=nodes-freshness][data-state=fresh]').waitFor({ timeout: T });
  assert.match(await text('nodes-freshness'), /^Updated \d/);
  await screenshot(page, 'console-nodes-light');
});

test('Nodes: per-node events/s and deliveries/s, readiness', async () => {
  assert.ok(features.statsCounters, MISSING.statsCounters);
  const stats = (await getJson(hub, '/api/sse/stats')).body;
  const row = page.locator(`[data-testid=node-row][data-node="${stats.node}"]`);
  await publishUntil(async () => {
    const r = (await row.getByTestId('node-events-rate').textContent()) ?? '';
    const d = (await row.getByTestId('node-deliveries-rate').textContent()) ?? '';
    return parseFloat(r) > 0 && parseFloat(d) > 0;
  }, 'non-zero per-node rates');
  assert.equal(await row.getByTestId('node-ready').textContent(), 'ready');
});

test('Traffic: a live chart of events/s, deliveries/s and connections', async () => {
  await page.goto(`${hub.base}/console/traffic`);
  await publishUntil(async () => {
    const points = Number(await page.getByTestId('rate-chart').getAttribute('data-points'));
    const events = parseFloat(await text('traffic-events'));
    const deliveries = parseFloat(await text('traffic-deliveries'));
    return points >= 2 && events > 0 && deliveries > 0;
  }, 'two readings with events and deliveries');
  assert.ok(Number(await text('traffic-connections')) >= 3);
  // the chart is drawn (uPlot renders to a canvas)
  assert.equal(await page.getByTestId('rate-chart').locator('canvas').count(), 1);
  assert.match(await text('traffic-scope'), /^Counts the (whole cluster|answering node)/);
  await screenshot(page, 'console-traffic-light');
});

test('Outbox: head, oldest and retention', async () => {
  await page.goto(`${hub.base}/console/outbox`);
  await page.locator('[data-testid=outbox-freshness][data-state=fresh]').waitFor({ timeout: T });
  const stats = (await getJson(hub, '/api/sse/stats')).body;
  await until(async () => Number((await text('outbox-head')).replace(/,/g, '')) >= stats.headSequence, 'the head sequence');
  assert.equal((await text('outbox-oldest')).replace(/,/g, ''), String(stats.oldestSequence));
  assert.equal(await text('outbox-retention'), features.retention ? 'keeps newest 1,000 events' : 'not reported by this hub');
  await screenshot(page, 'console-outbox-light');
});

test('Outbox: the history browser reads events in order', async () => {
  assert.ok(features.history, MISSING.history);
  const a = await hub.post('/api/sse/alert', { message: 'history one' });
  const b = await hub.post('/api/sse/notification', { message: 'history two' });
  await page.getByTestId('history-after').fill(String(a.sequence - 1));
  await page.getByTestId('history-load').click();
  await page.locator(`[data-testid=history-row][data-seq="${a.sequence}"]`).waitFor({ timeout: T });
  await page.locator(`[data-testid=history-row][data-seq="${b.sequence}"]`).waitFor({ timeout: T });
  const seqs = await page.$$eval('[data-testid=history-row]', (rs) => rs.map((r) => Number(r.getAttribute('data-seq'))));
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1]);
  await page.getByTestId('history-filter').fill('alert');
  await page.getByTestId('history-load').click();
  await page.locator(`[data-testid=history-row][data-seq="${b.sequence}"]`).waitFor({ state: 'detached', timeout: T });
  const types = await page.$$eval('[data-testid=history-row]', (rs) => rs.map((r) => r.getAttribute('data-type')));
  assert.deepEqual([...new Set(types)], ['alert']);
});

test('Connections: every open stream with its client, filter and start time', async () => {
  assert.ok(features.connections, MISSING.connections);
  await page.goto(`${hub.base}/console/connections`);
  for (const id of ['console-alerts', 'console-all', 'console-notes']) await page.locator(`[data-testid=connection-row][data-client="${id}"]`).first().waitFor({ timeout: T });
  assert.equal(await page.locator('[data-testid=connection-row][data-client=console-alerts]').first().getByTestId('connection-filter').textContent(), 'alert');
  assert.equal(await page.locator('[data-testid=connection-row][data-client=console-all]').first().getByTestId('connection-filter').textContent(), 'all types');
  assert.match(await text('connections-total'), /holds \d+ stream/);
  await screenshot(page, 'console-connections-light');
});

test('Presence: who holds streams on a topic', async () => {
  assert.ok(features.presence, MISSING.presence);
  assert.ok(features.topics, MISSING.topics);
  holdStream('clientId=console-room&topic=org%2F42%2Froom1');
  await page.goto(`${hub.base}/console/presence`);
  await page.getByTestId('presence-topic').fill('org/42/*');
  await page.getByTestId('presence-show').click();
  await page.locator('[data-testid=presence-row][data-client=console-room]').waitFor({ timeout: T });
  await screenshot(page, 'console-presence-light');
});

test('Topics: an event published with a topic reaches a stream that asked for it', async () => {
  assert.ok(features.topics, MISSING.topics);
  await page.goto(`${hub.base}/examples/topics`);
  await page.locator('[data-testid=sse-status][data-status=open]').waitFor({ timeout: T });
  await page.getByTestId('granted-topics').filter({ hasText: 'org/42/*' }).waitFor({ timeout: T });
  await page.getByTestId('publish-topics-input').fill('org/42/room1');
  await page.getByTestId('publish-submit').click();
  const result = page.getByTestId('publish-result').filter({ hasText: /Published as seq \d+/ });
  await result.waitFor({ timeout: T });
  const seq = /seq (\d+)/.exec(await result.textContent())[1];
  const row = page.locator(`[data-testid=topics-list] [data-testid=event-row][data-seq="${seq}"]`);
  await row.waitFor({ timeout: T });
  assert.equal(await row.getByTestId('event-topics').textContent(), 'org/42/room1');
  // the publish page offers the field too
  await page.goto(`${hub.base}/publish`);
  await page.locator('[data-testid=publish-topics][data-supported=true]').waitFor({ timeout: T });
});

test('features this hub lacks are said to be unavailable, not shown as errors', async () => {
  const pages = [
    { path: '/console/connections', has: features.connections },
    { path: '/console/presence', has: features.presence },
    { path: '/console/outbox', has: features.history },
  ];
  for (const { path, has } of pages) {
    await page.goto(`${hub.base}${path}`);
    if (has) {
      await page.locator('main h1').waitFor({ timeout: T });
      assert.equal(await page.getByTestId('not-available').count(), 0, `${path} has its feature`);
    } else {
      await page.getByTestId('not-available').waitFor({ timeout: T });
      assert.match(await page.getByTestId('not-available').textContent(), /not available on this hub/);
      assert.equal(await page.locator('main [role=alert]').count(), 0, `${path}: no error alert for a missing endpoint`);
      await screenshot(page, `console-${path.split('/').at(-1)}-light`);
    }
  }
  await page.goto(`${hub.base}/publish`);
  const field = page.locator(`[data-testid=publish-topics][data-supported=${features.topics}]`);
  await field.waitFor({ timeout: T });
  assert.equal(await page.getByTestId('publish-topics-input').isDisabled(), !features.topics);
  if (!features.topics) assert.match(await page.getByTestId('publish-topics-note').textContent(), /does not support topics/);
});

test('while the hub is unreachable the console keeps its data, marked stale with its time', async () => {
  await page.goto(`${hub.base}/console`);
  await page.locator('[data-testid=nodes-freshness][data-state=fresh]').waitFor({ timeout: T });
  await releaseStreams();
  await hub.kill('SIGKILL');
  try {
    await page.locator('[data-testid=nodes-panel][data-stale=true]').waitFor({ timeout: T });
    assert.match(await text('nodes-freshness'), /^Stale — showing data from \d\d:\d\d:\d\d \(\d+ s ago\)\. Failing since \d\d:\d\d:\d\d: hub unreachable/);
    assert.ok((await page.getByTestId('node-row').count()) >= 1, 'the last data stays on screen');
    await screenshot(page, 'console-nodes-stale-light');
  } finally {
    await hub.start();
  }
  // backed off, but it comes back by itself
  await page.locator('[data-testid=nodes-panel][data-stale=false]').waitFor({ timeout: 45_000 });
  await page.locator('[data-testid=nodes-freshness][data-state=fresh]').waitFor({ timeout: T });
});
