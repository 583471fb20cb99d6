// End-to-end: every page, the operator console included, in the light and the dark theme
// (prefers-color-scheme emulated): no serious or critical axe-core violation, and a
// screenshot of each in artifacts/screenshots/ (CI keeps them). The hub has events, a
// running demo and streams held from Node, so lists, tables and the chart are not empty.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';
import { axeViolations, screenshot, T } from './support.mjs';

const PAGES = [
  '/console',
  '/console/traffic',
  '/console/connections',
  '/console/outbox',
  '/console/presence',
  '/',
  '/publish',
  '/demo',
  '/examples/basic',
  '/examples/typed',
  '/examples/multiple',
  '/examples/reconnection',
  '/examples/filtered',
  '/examples/custom',
  '/examples/topics',
  '/examples/checkpoint',
  '/no-such-page',
];

let hub;
let context;
let page;
const held = new AbortController();

before(async () => {
  hub = await Hub.create();
  await hub.start();
  void fetch(`${hub.base}/api/sse/connect?clientId=a11y-held&filter=alert`, { signal: held.signal })
    .then(async (res) => {
      for (const reader = res.body.getReader(); !(await reader.read()).done; );
    })
    .catch(() => undefined);
  await hub.post('/api/sse/notification', { message: 'for the accessibility run' });
  await hub.post('/api/sse/broadcast', { eventType: 'price', data: 42.5 });
  await hub.post('/api/demo/start', { intervalSeconds: 1 });
  context = await launchBrowser();
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  held.abort();
  await context?.close();
  await hub?.kill('SIGTERM');
});

const name = (p) => (p === '/' ? 'dashboard' : p.slice(1).replace(/\//g, '-'));

test('every page has no serious or critical axe-core violation, in light and dark', async () => {
  const problems = [];
  for (const p of PAGES) {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${hub.base}${p}`);
    await page.locator('main h1').first().waitFor({ timeout: T });
    // polled pages: wait for their first answer, so the check sees the filled page
    await page.waitForFunction(() => ![...document.querySelectorAll('[data-testid$=freshness]')].some((e) => e.getAttribute('data-state') === 'loading'), null, { timeout: T });
    if (p === '/console/traffic') await page.locator('[data-testid=rate-chart]:not([data-points="0"])').waitFor({ timeout: T });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      for (const v of await axeViolations(page)) problems.push(`${scheme} ${p} ${v}`);
      await screenshot(page, `${name(p)}-${scheme}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the 390 px layout with the menu open passes too', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${hub.base}/`);
      await page.getByTestId('menu-toggle').click();
      await page.getByTestId('site-nav').getByRole('link').first().waitFor({ timeout: T });
      assert.deepEqual(await axeViolations(page), [], scheme);
      await screenshot(page, `mobile-menu-${scheme}`);
    }
  } finally {
    await page.setViewportSize({ width: 1400, height: 900 });
  }
});
