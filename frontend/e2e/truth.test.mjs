// End-to-end: the dashboard tells the truth (issue "The browser side as a product", item 2).
// Each scenario failed on the SPA before its fix; they share one open hub and one browser.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';
import { hubFeatures, metric, MISSING, screenshot, statusOpen, T, trackStreams, until } from './support.mjs';

let hub;
let context;
let page;
let features;
let streams;

before(async () => {
  hub = await Hub.create();
  await hub.start();
  features = await hubFeatures(hub);
  context = await launchBrowser();
  streams = trackStreams(context);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await context?.close();
  await hub?.kill('SIGTERM');
});

const rows = (p = page) => p.getByTestId('event-list').getByTestId('event-row');
const row = (seq) => page.locator(`[data-testid=event-list] [data-testid=event-row][data-seq="${seq}"]`);
const listedTypes = () => page.$$eval('[data-testid=event-list] [data-testid=event-row]', (rs) => rs.map((r) => r.getAttribute('data-type')));

test('an event of a custom type published from the panel appears on the dashboard', async () => {
  assert.ok(features.named, MISSING.named);
  await page.goto(`${hub.base}/`);
  await statusOpen(page);
  await page.getByTestId('publish-kind').selectOption('custom');
  await page.getByTestId('publish-event-type').fill('price');
  await page.getByTestId('publish-data').fill('42.5');
  await page.getByTestId('publish-submit').click();
  const result = page.getByTestId('publish-result').filter({ hasText: /Published as seq \d+/ });
  await result.waitFor({ timeout: T });
  const seq = Number(/seq (\d+)/.exec(await result.textContent())[1]);
  await row(seq).waitFor({ timeout: T });
  assert.equal(await row(seq).getAttribute('data-type'), 'price');
  await page.locator('[data-testid=type-coverage][data-coverage=all]').waitFor({ timeout: T });
});

test('ticking a filter box filters the list, and the label shows the filter= that was sent', async () => {
  await page.goto(`${hub.base}/`);
  await statusOpen(page);
  await page.locator('[data-testid=filter-sent]').filter({ hasText: 'sent: no filter' }).waitFor({ timeout: T });
  const a = await hub.post('/api/sse/alert', { message: 'filter me in' });
  const n = await hub.post('/api/sse/notification', { message: 'filter me out' });
  const m = await hub.post('/api/sse/broadcast', { data: 'filter me out too' });
  for (const s of [a, n, m]) await row(s.sequence).waitFor({ timeout: T });
  const before = streams.length;
  await page.getByTestId('filter-alert').check();
  await page.locator('[data-testid=filter-sent]').filter({ hasText: /^sent: filter=alert$/ }).waitFor({ timeout: T });
  await until(() => streams.length > before, 'the stream to reconnect with the filter');
  assert.equal(new URL(streams.at(-1)).searchParams.get('filter'), 'alert', 'the hub was asked for exactly the ticked type');
  await statusOpen(page);
  // what was received before still obeys the boxes
  assert.deepEqual(await listedTypes(), ['alert']);
  const n2 = await hub.post('/api/sse/notification', { message: 'after the filter' });
  const a2 = await hub.post('/api/sse/alert', { message: 'after the filter' });
  await row(a2.sequence).waitFor({ timeout: T });
  assert.equal(await row(n2.sequence).count(), 0);
  assert.deepEqual([...new Set(await listedTypes())], ['alert']);
  await page.getByTestId('filter-alert').uncheck();
  await page.locator('[data-testid=filter-sent]').filter({ hasText: 'sent: no filter' }).waitFor({ timeout: T });
});

test('demo rows tell the demo counter from the sequence number', async () => {
  await page.goto(`${hub.base}/`);
  await statusOpen(page);
  await hub.post('/api/demo/start', { intervalSeconds: 1 });
  try {
    const demoRow = rows().filter({ hasText: /Demo (alert|notification) #\d+/ }).first();
    await demoRow.waitFor({ timeout: T });
    const seqText = (await demoRow.getByTestId('event-seq').textContent()).trim();
    assert.match(seqText, /^seq \d+$/, 'the sequence is labelled, not a bare "#"');
    assert.equal(seqText, `seq ${await demoRow.getAttribute('data-seq')}`);
    assert.doesNotMatch(seqText, /#/);
  } finally {
    await hub.post('/api/demo/stop', {});
  }
});

test('the interval field shows the running interval, not a default that disagrees', async () => {
  await page.goto(`${hub.base}/demo`);
  await page.locator('[data-testid=demo-status][data-state=stopped]').waitFor({ timeout: T });
  await hub.post('/api/demo/start', { intervalSeconds: 7 });
  try {
    await page.getByTestId('demo-status').filter({ hasText: 'running every 7 s' }).waitFor({ timeout: T });
    assert.equal(await page.getByTestId('demo-interval').inputValue(), '7');
    assert.equal(await page.getByTestId('demo-interval').isDisabled(), true);
  } finally {
    await hub.post('/api/demo/stop', {});
  }
  await page.locator('[data-testid=demo-status][data-state=stopped]').waitFor({ timeout: T });
  assert.equal(await page.getByTestId('demo-interval').isDisabled(), false);
});

test('no status line stays stale while the hub is down, nor after it is back', async () => {
  await page.goto(`${hub.base}/`);
  await statusOpen(page);
  await hub.post('/api/demo/start', { intervalSeconds: 5 });
  await page.locator('[data-testid=demo-status][data-state=running]').waitFor({ timeout: T });
  await hub.kill('SIGKILL');
  try {
    // the demo is not "running" for all we know: unknown, with the last known state and its time
    await page.locator('[data-testid=demo-status][data-state=unknown]').filter({ hasText: /unknown \(last known at [\d:]+: running every 5 s\)/ }).waitFor({ timeout: T });
    await page.locator('[data-testid=demo-freshness][data-state=stale]').waitFor({ timeout: T });
    // a publish while down says so, with its time
    await page.getByTestId('publish-submit').click();
    await page.locator('[data-testid=publish-result][data-outcome=error]').filter({ hasText: /Not published \([\d:]+\): hub unreachable/ }).waitFor({ timeout: T });
    await page.locator('[data-testid=sse-status]:not([data-status=open])').first().waitFor({ timeout: T });
  } finally {
    await hub.start();
  }
  await statusOpen(page);
  await page.locator('[data-testid=demo-freshness][data-state=fresh]').waitFor({ timeout: T });
  await page.locator('[data-testid=demo-status][data-state=running]').waitFor({ timeout: T });
  await page.getByTestId('publish-result').filter({ hasText: /it answers again since [\d:]+/ }).waitFor({ timeout: T });
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /unreachable|Failed to fetch|Stale/, 'nothing on the page still says the hub is down');
  await hub.post('/api/demo/stop', {});
  // a new publish replaces the old line
  await page.getByTestId('publish-submit').click();
  await page.getByTestId('publish-result').filter({ hasText: /^Published as seq \d+ at [\d:]+$/ }).waitFor({ timeout: T });
});

test('a full-page navigation opens no throw-away stream', async () => {
  // Count from a quiet start: a page without streams, and no stream open on the hub.
  const quiet = async () => {
    await page.locator('[data-testid=demo-freshness][data-state=fresh]').waitFor({ timeout: T });
    await until(async () => (await metric(hub, 'ssehub_sse_connections_open')) === 0, 'every stream to close');
    return { opened: await metric(hub, 'ssehub_sse_connections_total'), asked: streams.length };
  };
  await page.goto(`${hub.base}/demo`);
  const start = await quiet();
  for (let round = 1; round <= 4; round++) {
    await page.goto(`${hub.base}/`);
    await statusOpen(page);
    const s = await hub.post('/api/sse/broadcast', { data: { round } });
    await row(s.sequence).waitFor({ timeout: T });
    // leave with a full page load; once the next page has polled the hub, whatever the
    // unloading page sent has landed
    await page.goto(`${hub.base}/demo`);
    const now = await quiet();
    assert.equal(now.opened - start.opened, now.asked - start.asked, `round ${round}: the hub saw ${now.opened - start.opened} streams, the pages opened ${now.asked - start.asked}`);
    // and the leaving page opened none either (a reconnect of its own would count on both sides)
    assert.equal(now.asked - start.asked, round, `round ${round}: ${round} dashboard visits opened ${now.asked - start.asked} streams`);
  }
});

test('disabled buttons look disabled in the dark theme', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  try {
    await page.goto(`${hub.base}/demo`);
    await page.locator('[data-testid=demo-status][data-state=stopped]').waitFor({ timeout: T });
    const style = (id) =>
      page.getByTestId(id).evaluate((b) => {
        const s = getComputedStyle(b);
        return { bg: s.backgroundColor, border: s.borderTopStyle, color: s.color, disabled: b.disabled };
      });
    const start = await style('demo-start');
    const stop = await style('demo-stop');
    assert.equal(start.disabled, false);
    assert.equal(stop.disabled, true);
    assert.equal(stop.border, 'dashed', 'a disabled button has a dashed outline');
    assert.equal(start.border, 'solid');
    assert.match(stop.bg, /rgba\(0, 0, 0, 0\)|transparent/, 'and no fill');
    assert.notEqual(stop.color, start.color);
    await screenshot(page, 'demo-disabled-dark');
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
  }
});

test('rows in "Multiple streams" columns wrap instead of being cut off', async () => {
  await page.goto(`${hub.base}/examples/multiple`);
  await page.locator('[data-testid="status-Alerts"][data-status=open]').waitFor({ timeout: T });
  const message = 'A long alert message that would not fit in one line of a column: disk 91% full on node-7, rotate logs now';
  const a = await hub.post('/api/sse/alert', { message });
  const alertRow = page.getByRole('log', { name: 'Alerts' }).locator(`[data-testid=event-row][data-seq="${a.sequence}"]`);
  await alertRow.waitFor({ timeout: T });
  const summary = alertRow.getByTestId('event-summary');
  const fit = await summary.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, text: el.innerText }));
  assert.ok(fit.scroll <= fit.client + 1, `summary is cut off: ${fit.scroll} > ${fit.client}`);
  assert.ok(fit.text.includes(message));
});

test('at 390 px every page is reachable from the menu, with no sideways scrolling', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${hub.base}/`);
    await statusOpen(page);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(await overflow(), 0, 'no horizontal scroll on the dashboard');
    await page.getByTestId('menu-toggle').click();
    const links = page.getByTestId('site-nav').getByRole('link');
    const count = await links.count();
    assert.ok(count >= 16, `every page is listed (${count})`);
    for (let i = 0; i < count; i++) {
      const box = await links.nth(i).boundingBox();
      assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `link ${i} (${await links.nth(i).textContent()}) lies within the screen: ${JSON.stringify(box)}`);
      assert.ok(await links.nth(i).isVisible());
    }
    assert.equal(await overflow(), 0, 'no horizontal scroll with the menu open');
    await screenshot(page, 'mobile-menu-light');
    await links.filter({ hasText: 'Checkpoint recovery' }).click();
    await page.getByRole('heading', { name: 'Checkpoint recovery' }).waitFor({ timeout: T });
    assert.equal(await page.getByTestId('site-nav').getByRole('link').first().isVisible(), false, 'navigating folds the menu');
    assert.equal(await overflow(), 0);
  } finally {
    await page.setViewportSize({ width: 1400, height: 900 });
  }
});
