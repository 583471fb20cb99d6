// End-to-end over TLS: the hub serves HTTPS itself (a self-signed certificate made here with
// openssl; Chromium told to accept it). The page must arrive over HTTP/2, so every tab's
// streams and requests share one connection instead of the six HTTP/1.1 allows per origin.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';

const T = 30_000;
let hub;
let context;
let page;

before(async () => {
  hub = await Hub.createTls();
  await hub.start();
  context = await launchBrowser(['--ignore-certificate-errors']);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await context?.close();
  await hub?.kill('SIGTERM');
});

test('the dashboard loads over h2 from the TLS hub and events arrive', async () => {
  await page.goto(`${hub.base}/`);
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  assert.equal(protocol, 'h2');
  await page.locator('[data-testid=sse-status][data-status=open]').first().waitFor({ timeout: T });
  const text = `over h2 ${Date.now()}`;
  const { sequence } = await hub.post('/api/sse/notification', { message: text });
  const row = page.getByTestId('event-list').getByTestId('event-row').filter({ hasText: text });
  await row.waitFor({ timeout: T });
  assert.equal(Number(await row.getAttribute('data-seq')), sequence);
  // The page's own requests (its publish panel) go over the same h2 origin.
  const published = await page.evaluate(async () => {
    const res = await fetch('/api/sse/notification', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'from the page' }),
    });
    // The resource timing entry is recorded once the body has been read, a moment later.
    await res.text();
    let timing;
    for (let i = 0; i < 50 && !timing; i++) {
      timing = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/sse/notification'));
      if (!timing) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { status: res.status, protocol: timing?.nextHopProtocol };
  });
  assert.deepEqual(published, { status: 200, protocol: 'h2' });
  await page.getByTestId('event-list').getByTestId('event-row').filter({ hasText: 'from the page' }).waitFor({ timeout: T });
});
