// End-to-end: a JWT in a cookie authenticates a real EventSource in Chromium (EventSource
// cannot set headers; it sends cookies). The page is served by the hub (same origin), the
// JWT is HS256-signed here with node:crypto, and the hub is started with --jwt-secret.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Hub, launchBrowser } from './hub.mjs';
import { T } from './support.mjs';

const SECRET = 'e2e-jwt-secret-of-at-least-32-bytes!';
const PUBLISH = 'e2e-jwt-publish-key';

let hub;
let context;
let page;

const b64url = (value) => Buffer.from(value).toString('base64url');

function jwt(claims) {
  const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);

async function setCookie(value) {
  await context.clearCookies();
  await context.addCookies([{ name: 'ssehub_jwt', value, url: hub.base }]);
}

/** Opens an EventSource on `url` in the page; resolves with the `connected` data or the error. */
function openInPage(url) {
  return page.evaluate(
    (u) =>
      new Promise((resolve) => {
        const source = new EventSource(u);
        window.__source = source;
        window.__events = [];
        source.addEventListener('connected', (e) => resolve({ connected: JSON.parse(e.data) }));
        source.onmessage = (e) => window.__events.push(JSON.parse(e.data));
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) resolve({ error: true });
        };
      }),
    url,
  );
}

before(async () => {
  hub = await Hub.create(['--jwt-secret', SECRET, '--publish-keys', PUBLISH]);
  await hub.start();
  context = await launchBrowser();
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  // Any page of the hub's origin: the SPA.
  await page.goto(`${hub.base}/console`);
});

after(async () => {
  await context?.close();
  await hub?.kill('SIGTERM');
});

test('a JWT cookie authenticates an EventSource as its subject, with its topic grant', async () => {
  await setCookie(jwt({ sub: 'cookie-user', exp: now() + 600, ssehub: { subscribe: ['org/42/*'] } }));
  const opened = await openInPage('/api/sse/connect?topic=org/42/room1');
  assert.equal(opened.connected?.clientId, 'cookie-user', JSON.stringify(opened));
  assert.deepEqual(opened.connected.topics, ['org/42/room1']);
  const sent = await hub.post('/api/sse/send/cookie-user', { data: { hello: 'cookie' }, topics: ['org/42/room1'] }, PUBLISH);
  assert.ok(sent.sequence > 0);
  const other = await hub.post('/api/sse/send/someone-else', { data: { hello: 'nope' } }, PUBLISH);
  assert.ok(other.sequence > sent.sequence);
  await page.waitForFunction(() => window.__events.length >= 1, null, { timeout: T });
  const events = await page.evaluate(() => window.__events);
  assert.deepEqual(
    events.map((e) => e.data),
    [{ hello: 'cookie' }],
  );
  // The same cookie reads history with fetch (credentials are same-origin by default).
  const history = await page.evaluate(async () => {
    const res = await fetch('/api/sse/events?topic=org/42/*');
    return { status: res.status, body: await res.json() };
  });
  assert.equal(history.status, 200);
  assert.ok(history.body.events.some((e) => e._sequence === sent.sequence));
  await page.evaluate(() => window.__source.close());
});

test('an expired or forged JWT cookie is refused with its reason; the EventSource gives up', async () => {
  for (const [token, code] of [
    [jwt({ sub: 'late', exp: now() - 3600 }), 'jwt_expired'],
    [`${jwt({ sub: 'forged', exp: now() + 600 }).slice(0, -4)}AAAA`, 'jwt_bad_signature'],
  ]) {
    await setCookie(token);
    const refused = await page.evaluate(async () => {
      const res = await fetch('/api/sse/connect');
      return { status: res.status, body: await res.json() };
    });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, code);
    // EventSource closes for good on a non-200 answer.
    assert.deepEqual(await openInPage('/api/sse/connect'), { error: true });
  }
});
