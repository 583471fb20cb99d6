// End-to-end: the SPA in real Chromium against the real hub binary.
// The scenarios run in order and share one hub (port + data dir) and one browser.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { artifactsDir, Hub, launchBrowser } from './hub.mjs';

const T = 30_000;
let hub;
let context;
let page;
const connectUrls = [];
/** Acks the hub answered: { clientId, sequence, status }. */
const acks = [];

before(async () => {
  hub = await Hub.create();
  await hub.start();
  context = await launchBrowser();
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => {
    // the page's streams (fetch probes of the same URL are not streams the page keeps)
    if (r.resourceType() === 'eventsource' && r.url().includes('/api/sse/connect')) connectUrls.push(r.url());
  });
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/sse/ack') {
      const { clientId, sequence } = r.request().postDataJSON();
      acks.push({ clientId, sequence, status: r.status() });
    }
  });
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await context?.close();
  await hub?.kill('SIGTERM');
});

const statusOpen = (p = page) => p.locator('[data-testid=sse-status][data-status=open]').first().waitFor({ timeout: T });

/** Sequences shown in the main event list, in DOM order. */
const listedSeqs = (testId = 'event-list') =>
  page.$$eval(`[data-testid=${testId}] [data-testid=event-row]`, (rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));

async function waitForSeqs(seqs, testId = 'event-list') {
  await page.waitForFunction(
    ({ want, id }) => {
      const have = new Set(
        [...document.querySelectorAll(`[data-testid=${id}] [data-testid=event-row]`)].map((r) => Number(r.getAttribute('data-seq'))),
      );
      return want.every((s) => have.has(s));
    },
    { want: seqs, id: testId },
    { timeout: T },
  );
}

test('the dashboard connects', async () => {
  await page.goto(`${hub.base}/`);
  await statusOpen();
  assert.match(await page.getByTestId('sse-node').textContent(), /\S/);
  assert.ok(connectUrls.some((u) => u.includes('clientId=')));
});

test('an event published from the publish panel appears', async () => {
  const text = `hello from e2e ${Date.now()}`;
  await page.getByTestId('publish-message').fill(text);
  await page.getByTestId('publish-submit').click();
  await page.getByTestId('publish-result').filter({ hasText: /Published as seq \d+/ }).waitFor({ timeout: T });
  const row = page.getByTestId('event-list').getByTestId('event-row').filter({ hasText: text });
  await row.waitFor({ timeout: T });
  assert.equal(await row.getAttribute('data-type'), 'notification');
  assert.equal(await row.count(), 1);
});

test('the filtered example shows only its types', async () => {
  await page.getByRole('link', { name: 'Filtered events' }).click();
  await statusOpen();
  const dataUpdate = await hub.post('/api/sse/data-update', { entityId: 'e1', entityType: 'order', changes: { a: 1 } });
  const message = await hub.post('/api/sse/broadcast', { data: { skip: true } });
  const custom = await hub.post('/api/sse/broadcast', { eventType: 'orderShipped', data: { skip: true } });
  const alert = await hub.post('/api/sse/alert', { message: 'filtered alert' });
  const note = await hub.post('/api/sse/notification', { message: 'filtered note' });
  await waitForSeqs([alert.sequence, note.sequence], 'filtered-list');
  const types = await page.$$eval('[data-testid=filtered-list] [data-testid=event-row]', (rows) => rows.map((r) => r.getAttribute('data-type')));
  assert.ok(types.length >= 2);
  for (const t of types) assert.ok(t === 'alert' || t === 'notification', `unexpected type ${t}`);
  const seqs = await listedSeqs('filtered-list');
  for (const s of [dataUpdate.sequence, message.sequence, custom.sequence]) assert.ok(!seqs.includes(s), `#${s} should be filtered out`);
});

test('checkpoint recovery example recovers exactly what was published while away', async () => {
  await page.getByRole('link', { name: 'Checkpoint recovery' }).click();
  await statusOpen();
  await page.getByTestId('cp-disconnect').click();
  await page.locator('[data-testid=sse-status][data-status=closed]').waitFor({ timeout: T });
  await page.getByTestId('cp-publish').click();
  await page.getByTestId('cp-away').filter({ hasText: /#\d+ #\d+ #\d+ #\d+ #\d+/ }).waitFor({ timeout: T });
  await page.getByTestId('cp-reconnect').click();
  await page.getByTestId('cp-verdict').filter({ hasText: 'All 5 events published while away were recovered' }).waitFor({ timeout: T });
});

test('after SIGKILL and restart, 20 events arrive once each, in order', async () => {
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await statusOpen();
  await hub.kill('SIGKILL');
  await page.locator('[data-testid=sse-status]:not([data-status=open])').first().waitFor({ timeout: T });
  // stay down until at least one of the client's own (backed-off) retries has failed
  await page.getByTestId('stream-error').filter({ hasText: /retry [2-9]/ }).waitFor({ timeout: T });
  await hub.start();
  const published = [];
  for (let i = 1; i <= 20; i++) {
    const r = await hub.post('/api/sse/broadcast', { data: { burst: i } });
    published.push(r.sequence);
  }
  for (let i = 1; i < published.length; i++) assert.ok(published[i] > published[i - 1]);
  await waitForSeqs(published);
  await statusOpen();
  const shown = await listedSeqs();
  for (const s of published) assert.equal(shown.filter((x) => x === s).length, 1, `#${s} shown once`);
  // newest first: strictly decreasing top to bottom means in order, no repeats
  for (let i = 1; i < shown.length; i++) assert.ok(shown[i] < shown[i - 1], `list order at ${i}: ${shown[i - 1]} then ${shown[i]}`);
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, 'dashboard.png') });
});

test('a reload resumes from the stored position with no duplicates', async () => {
  const clientId = (await page.getByTestId('client-id').textContent()).trim();
  // the position is stored as events arrive
  const stored = await page.evaluate((id) => localStorage.getItem(`ssehub.lastSequence.${id}`), clientId);
  assert.match(stored ?? '', /^\d+$/);
  const before = connectUrls.length;
  await page.reload();
  await statusOpen();
  const url = new URL(connectUrls.slice(before).at(-1));
  assert.equal(url.searchParams.get('clientId'), clientId);
  assert.equal(url.searchParams.get('checkpoint'), stored);
  await page.getByTestId('resume-from').filter({ hasText: stored }).waitFor({ timeout: T });
  const next = await hub.post('/api/sse/broadcast', { data: { afterReload: true } });
  await waitForSeqs([next.sequence]);
  const shown = await listedSeqs();
  assert.deepEqual(shown, [next.sequence], 'only the new event: nothing replayed twice');
  assert.equal((await page.getByTestId('duplicate-count').textContent()).trim(), '0');
});

test('acks reach the hub: without a stored position, the hub resumes from the acked checkpoint', async () => {
  const clientId = (await page.getByTestId('client-id').textContent()).trim();
  const last = (await page.getByTestId('last-sequence').textContent()).trim();
  // the ack is debounced by a second: wait until the hub has answered one of this position
  // (204: durable, docs/API.md), so the checkpoint is there before the reload asks for it
  const deadline = Date.now() + T;
  while (!acks.some((a) => a.clientId === clientId && a.sequence === Number(last) && a.status === 204)) {
    assert.ok(Date.now() < deadline, `no ack of ${last} answered 204: ${JSON.stringify(acks)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.evaluate((id) => localStorage.removeItem(`ssehub.lastSequence.${id}`), clientId);
  const before = connectUrls.length;
  await page.reload();
  await statusOpen();
  const url = new URL(connectUrls.slice(before).at(-1));
  assert.equal(url.searchParams.get('clientId'), clientId);
  assert.equal(url.searchParams.has('checkpoint'), false);
  await page.getByTestId('resume-from').filter({ hasText: last }).waitFor({ timeout: T });
});

test('the old stats address shows the Nodes page of the console with this hub', async () => {
  await page.goto(`${hub.base}/stats`);
  await page.getByTestId('node-row').first().waitFor({ timeout: T });
  await page.getByRole('heading', { name: 'Nodes' }).waitFor({ timeout: T });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=tile-head]')?.textContent?.replace(/,/g, '') ?? 'x') >= 1, null, { timeout: T });
});

test('demo controls start the generator and typed cards render every demo type', async () => {
  await page.getByRole('link', { name: 'Demo generator' }).click();
  await page.getByLabel('Interval (seconds)').fill('1');
  await page.getByTestId('demo-start').click();
  await page.getByTestId('demo-status').filter({ hasText: 'running every 1 s' }).waitFor({ timeout: T });
  await page.getByRole('link', { name: 'Typed events' }).click();
  await statusOpen();
  for (const kind of ['alert', 'dataUpdate', 'heartbeat', 'notification']) {
    await page.locator(`[data-testid=typed-card][data-kind=${kind}]`).first().waitFor({ timeout: T });
  }
  assert.equal(await page.locator('[data-testid=typed-card][data-kind=invalid]').count(), 0, 'demo events all validate');
  await page.getByRole('link', { name: 'Demo generator' }).click();
  await page.getByTestId('demo-stop').click();
  await page.getByTestId('demo-status').filter({ hasText: 'stopped' }).waitFor({ timeout: T });
});

test('a stream the hub ends is resumed by the browser itself with Last-Event-ID', async () => {
  const short = await Hub.create(['--max-stream-lifetime-secs', '4', '--retry-ms', '300']);
  await short.start();
  const requests = [];
  const onRequest = async (r) => {
    if (r.url().includes('/api/sse/connect')) requests.push({ url: r.url(), headers: await r.allHeaders() });
  };
  page.on('request', onRequest);
  try {
    await page.goto(`${short.base}/examples/basic`);
    await statusOpen();
    const first = await short.post('/api/sse/broadcast', { data: 'before the stream ends' });
    await waitForSeqs([first.sequence]);
    await page.getByTestId('reconnect-count').filter({ hasText: /^[1-9]/ }).waitFor({ timeout: T });
    await statusOpen();
    const second = await short.post('/api/sse/broadcast', { data: 'after' });
    await waitForSeqs([second.sequence]);
    assert.deepEqual(await listedSeqs(), [second.sequence, first.sequence]);
    const resumed = requests.slice(1).find((r) => r.headers['last-event-id'] !== undefined);
    assert.ok(resumed, `a reconnect carried Last-Event-ID: ${JSON.stringify(requests.map((r) => [r.url, r.headers['last-event-id']]))}`);
    assert.equal(resumed.headers['last-event-id'], String(first.sequence));
    assert.equal(new URL(resumed.url).searchParams.has('checkpoint'), false);
  } finally {
    page.off('request', onRequest);
    await short.kill('SIGTERM');
  }
});

test('a position older than the retained history shows the reset notice, then continues', async () => {
  const small = await Hub.create(['--retention-max-events', '3']);
  await small.start();
  try {
    await page.goto(`${small.base}/examples/basic`);
    await statusOpen();
    const seen = await small.post('/api/sse/broadcast', { data: 'seen' });
    await waitForSeqs([seen.sequence]);
    await page.getByRole('link', { name: 'Nodes' }).click(); // leaves the stream; its position stays stored
    const later = [];
    for (let i = 0; i < 10; i++) later.push((await small.post('/api/sse/broadcast', { data: { later: i } })).sequence);
    // wait until the hub has trimmed its history past our position
    const deadline = Date.now() + T;
    for (;;) {
      const stats = await (await fetch(`${small.base}/api/sse/stats`)).json();
      if ((stats.oldestSequence ?? 0) > seen.sequence + 1) break;
      assert.ok(Date.now() < deadline, `retention did not trim: ${JSON.stringify(stats)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.getByRole('link', { name: 'Basic' }).click();
    await statusOpen();
    await page.getByTestId('reset-notice').waitFor({ timeout: T });
    const text = await page.getByTestId('reset-notice').textContent();
    assert.match(text, new RegExp(`resume after seq ${seen.sequence}\\b`));
    await waitForSeqs([later.at(-1)]);
    const shown = await listedSeqs();
    assert.ok(!shown.includes(seen.sequence));
    for (let i = 1; i < shown.length; i++) assert.ok(shown[i] < shown[i - 1]);
  } finally {
    await small.kill('SIGTERM');
  }
});

test('keyboard only: skip link, then publish with Enter', async () => {
  await page.goto(`${hub.base}/`);
  await statusOpen();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  await page.getByTestId('publish-message').focus();
  await page.keyboard.press('ControlOrMeta+a');
  const text = `typed with the keyboard ${Date.now()}`;
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  await page.getByTestId('event-list').getByTestId('event-row').filter({ hasText: text }).waitFor({ timeout: T });
});
