// Helpers for the SPA's e2e files: reading the hub (stats, metrics), probing which
// CONTRACT-NEXT features the hub binary has (a test of a missing feature is skipped with
// the feature's name; never a failure), and page conditions.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { artifactsDir } from './hub.mjs';

export const T = 30_000;
export const screenshotsDir = path.join(artifactsDir, 'screenshots');

export async function getJson(hub, pathname, apiKey) {
  const res = await fetch(`${hub.base}${pathname}`, { headers: apiKey ? { 'X-API-Key': apiKey } : {} });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** The sum of a metric's samples in /metrics (all label sets). */
export async function metric(hub, name) {
  const text = await (await fetch(`${hub.base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Reads a stream from the hub until `decide(text)` answers (or 5 s pass: null). */
async function readStream(hub, query, decide) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    const res = await fetch(`${hub.base}/api/sse/connect?${query}`, { signal: abort.signal });
    if (!res.ok) return { status: res.status };
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      text += value;
      const answer = decide(text);
      if (answer !== undefined) return answer;
    }
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/**
 * Which CONTRACT-NEXT items the running hub has, found by asking it the way each item
 * says (an absent endpoint is 404; an unknown parameter is ignored).
 */
export async function hubFeatures(hub, apiKey) {
  const key = apiKey ? `&apikey=${encodeURIComponent(apiKey)}` : '';
  const endpoint = async (p) => (await getJson(hub, p, apiKey)).status !== 404;
  const stats = (await getJson(hub, '/api/sse/stats', apiKey)).body ?? {};
  // named=false: replay one event we publish and look for an `event:` line.
  const probe = await hub.post('/api/sse/broadcast', { eventType: 'probe.named', data: 'probe' }, apiKey);
  const named = await readStream(hub, `clientId=e2e-probe&named=false&checkpoint=${probe.sequence - 1}${key}`, (text) => {
    const frame = text.split('\n\n').find((f) => f.startsWith('id: ') || f.includes('\nid: '));
    return frame === undefined ? undefined : !/^event: /m.test(frame);
  });
  const topics = await readStream(hub, `clientId=e2e-probe&topic=e2e%2Fprobe${key}`, (text) => {
    const m = /event: connected\ndata: (.*)\n/.exec(text);
    return m === null ? undefined : Array.isArray(JSON.parse(m[1]).topics);
  });
  return {
    named: named === true,
    topics: topics === true,
    statsCounters: typeof stats.eventsPublished === 'number' && typeof stats.framesDelivered === 'number',
    ready: typeof stats.ready === 'boolean',
    retention: stats.retention !== undefined,
    connections: await endpoint('/api/sse/connections?limit=1'),
    presence: await endpoint('/api/sse/presence?topic=*&limit=1'),
    history: await endpoint('/api/sse/events?after=0&limit=1'),
  };
}

/** The missing-feature messages the lead reads in the test output. */
export const MISSING = {
  named: 'hub lacks CONTRACT-NEXT item 1 (named=false on /api/sse/connect)',
  statsCounters: 'hub lacks CONTRACT-NEXT item 2 (eventsPublished/framesDelivered/ready in /api/sse/stats)',
  connections: 'hub lacks CONTRACT-NEXT item 3 (GET /api/sse/connections answers 404)',
  topics: 'hub lacks CONTRACT-NEXT item 4 (topics: connected frame has no "topics")',
  presence: 'hub lacks CONTRACT-NEXT item 5 (GET /api/sse/presence answers 404)',
  history: 'hub lacks CONTRACT-NEXT item 6 (GET /api/sse/events answers 404)',
};

/** Polls `probe` (in Node) until it returns a truthy value; bounded by T. */
export async function until(probe, what, timeout = T) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const statusOpen = (page) => page.locator('[data-testid=sse-status][data-status=open]').first().waitFor({ timeout: T });

export async function screenshot(page, name) {
  mkdirSync(screenshotsDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotsDir, `${name}.png`), fullPage: true });
}

/** EventSource requests to the stream endpoint (fetch probes are not streams the page keeps). */
export function trackStreams(context) {
  const urls = [];
  context.on('request', (r) => {
    if (r.resourceType() === 'eventsource' && r.url().includes('/api/sse/connect')) urls.push(r.url());
  });
  return urls;
}

let axeSource = null;
/** Serious and critical axe-core violations of the page as it is now, as short strings. */
export async function axeViolations(page) {
  if (axeSource === null) {
    const { readFileSync } = await import('node:fs');
    const { createRequire } = await import('node:module');
    axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  }
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
}
