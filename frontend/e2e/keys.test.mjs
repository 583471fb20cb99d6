// End-to-end: a hub with keys. The page learns what a key may do from the hub's answers:
// no key or a refused key points at the key field and stops retrying until the key changes;
// a subscribe key streams but cannot publish or drive the demo; a publish key can; the key
// can be cleared and never reaches localStorage.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';
import { axeViolations, screenshot, statusOpen, T } from './support.mjs';

const PUBLISH = 'e2e-publish-secret';
const SUBSCRIBE = 'e2e-subscribe-secret';

let hub;
let context;
let page;
/** Every request for a stream, by the page's EventSource or by fetch. */
const connects = [];

before(async () => {
  hub = await Hub.create(['--publish-keys', PUBLISH, '--subscribe-keys', SUBSCRIBE]);
  await hub.start();
  context = await launchBrowser();
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => {
    if (r.url().includes('/api/sse/connect')) connects.push(r.url());
  });
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await context?.close();
  await hub?.kill('SIGTERM');
});

async function useKey(key) {
  await page.getByTestId('api-key').fill(key);
  await page.getByTestId('api-key').press('Enter');
}

const access = (kind) => page.locator(`[data-testid=api-key-verdict][data-access="${kind}"]`).waitFor({ timeout: T });

test('without a key: the page says the hub needs one, points at the field, and stops retrying', async () => {
  await page.goto(`${hub.base}/`);
  await access('key-required');
  assert.equal(await page.getByTestId('api-key').getAttribute('placeholder'), 'required by this hub', 'the field does not claim an open hub');
  assert.equal(await page.getByTestId('api-key').getAttribute('aria-invalid'), 'true');
  const notice = page.locator('[data-testid=auth-notice][data-access=key-required]');
  await notice.waitFor({ timeout: T });
  assert.match(await notice.textContent(), /401/);
  // no stream retries while the key stays the same (the client's first retry is due within a second)
  const before = connects.length;
  await assert.rejects(page.waitForRequest((r) => r.url().includes('/api/sse/connect'), { timeout: 3000 }), /Timeout/);
  assert.equal(connects.length, before);
  // the notice leads to the field
  await page.getByTestId('auth-notice-fix').click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'api-key');
  // what the key cannot do is disabled, and says why
  assert.equal(await page.getByTestId('publish-submit').isDisabled(), true);
  assert.equal(await page.getByTestId('demo-start').isDisabled(), true);
  assert.equal(await page.getByTestId('stream-connect').isDisabled(), true, 'no way around the wait for a key');
  await screenshot(page, 'keys-missing-light');
});

test('a refused key is named as refused, and a new key is tried at once', async () => {
  await useKey('not-a-key');
  await access('key-refused');
  await page.locator('[data-testid=auth-notice][data-access=key-refused]').waitFor({ timeout: T });
  const before = connects.length;
  await assert.rejects(page.waitForRequest((r) => r.url().includes('/api/sse/connect'), { timeout: 3000 }), /Timeout/);
  assert.equal(connects.length, before, 'a refused key is not retried');
});

test('a subscribe key streams, but cannot publish or start the demo (learned from 403 insufficient_scope)', async () => {
  await useKey(SUBSCRIBE);
  await statusOpen(page);
  await access('subscribe');
  assert.equal(await page.getByTestId('auth-notice').count(), 0);
  const r = await hub.post('/api/sse/notification', { message: 'seen with a subscribe key' }, PUBLISH);
  await page.locator(`[data-testid=event-list] [data-testid=event-row][data-seq="${r.sequence}"]`).waitFor({ timeout: T });
  await page.locator('[data-testid=demo-status][data-state=stopped]').waitFor({ timeout: T });
  assert.equal(await page.getByTestId('publish-submit').isDisabled(), true);
  assert.equal(await page.getByTestId('demo-start').isDisabled(), true);
  assert.equal(await page.getByTestId('demo-stop').isDisabled(), true);
  const notes = await page.locator('[data-testid=scope-note][data-access=subscribe]').allTextContents();
  assert.equal(notes.length, 2, 'publish panel and demo controls both say why');
  for (const n of notes) assert.match(n, /subscribe scope only/);
});

test('a publish key may publish and drive the demo', async () => {
  await useKey(PUBLISH);
  await access('publish');
  await statusOpen(page);
  await page.getByTestId('publish-message').fill('published with the publish key');
  await page.getByTestId('publish-submit').click();
  const result = page.getByTestId('publish-result').filter({ hasText: /Published as seq \d+/ });
  await result.waitFor({ timeout: T });
  const seq = /seq (\d+)/.exec(await result.textContent())[1];
  await page.locator(`[data-testid=event-list] [data-testid=event-row][data-seq="${seq}"]`).waitFor({ timeout: T });
  await page.getByTestId('demo-start').click();
  await page.locator('[data-testid=demo-status][data-state=running]').waitFor({ timeout: T });
  await page.getByTestId('demo-stop').click();
  await page.locator('[data-testid=demo-status][data-state=stopped]').waitFor({ timeout: T });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ssehub.apiKey')), PUBLISH);
  const inLocal = await page.evaluate((k) => JSON.stringify(localStorage).includes(k), PUBLISH);
  assert.equal(inLocal, false, 'the key is never stored in localStorage');
});

test('the key can be cleared', async () => {
  await page.getByTestId('api-key-clear').click();
  await access('key-required');
  assert.equal(await page.getByTestId('api-key').inputValue(), '');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ssehub.apiKey')), '');
  await page.locator('[data-testid=auth-notice][data-access=key-required]').waitFor({ timeout: T });
  assert.equal(await page.getByTestId('api-key-clear').count(), 0);
});

test('without a key the console says so too, and the refusals pass axe-core in both themes', async () => {
  await page.goto(`${hub.base}/console`);
  await page.locator('[data-testid=auth-notice][data-access=key-required]').waitFor({ timeout: T });
  assert.match(await page.getByTestId('auth-notice').textContent(), /operator console needs an API key/);
  const problems = [];
  for (const p of ['/console', '/']) {
    await page.goto(`${hub.base}${p}`);
    await page.getByTestId('auth-notice').waitFor({ timeout: T });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const v of await axeViolations(page)) problems.push(`${scheme} ${p} ${v}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }
  assert.deepEqual(problems, []);
});
