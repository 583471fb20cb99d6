import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiKeyStore } from '../lib/apiKeyStore';
import { canPublish, canSubscribe, hubAccess, probeAccess } from '../lib/hubAccess';

/** A fake hub: what stats and the `{}` publish answer, per key. */
function fakeHub(answers: Record<string, { stats: number; publish: number }>) {
  vi.stubGlobal('fetch', (url: string, init: { headers: Record<string, string> }) => {
    const key = init.headers['X-API-Key'] ?? '';
    const a = answers[key] ?? { stats: 401, publish: 401 };
    const status = url.includes('/stats') ? a.stats : a.publish;
    const body =
      status === 200
        ? { node: 'n', connections: 0 }
        : status === 401
          ? { error: key === '' ? 'missing_api_key' : 'invalid_api_key', message: 'no' }
          : status === 403
            ? { error: 'insufficient_scope', message: 'needs publish scope' }
            : { error: 'missing_field', message: '`data` is required' };
    return Promise.resolve(new Response(JSON.stringify(body), { status }));
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('what a key may do, from the hub answers', () => {
  it('an open hub: no key, stats 200, the empty publish refused only for its body', async () => {
    fakeHub({ '': { stats: 200, publish: 400 } });
    apiKeyStore.set('');
    await probeAccess();
    expect(hubAccess.get().kind).toBe('open');
  });

  it('a keyed hub: no key is key-required, a wrong one refused, a subscribe key may not publish', async () => {
    fakeHub({ sub: { stats: 200, publish: 403 }, pub: { stats: 200, publish: 400 } });
    apiKeyStore.set('');
    await probeAccess();
    expect(hubAccess.get().kind).toBe('key-required');
    expect(canSubscribe(hubAccess.get())).toBe(false);
    apiKeyStore.set('nope');
    await probeAccess();
    expect(hubAccess.get()).toMatchObject({ kind: 'key-refused', apiKey: 'nope' });
    apiKeyStore.set('sub');
    await probeAccess();
    expect(hubAccess.get().kind).toBe('subscribe');
    expect(canSubscribe(hubAccess.get())).toBe(true);
    expect(canPublish(hubAccess.get())).toBe(false);
    apiKeyStore.set('pub');
    await probeAccess();
    expect(hubAccess.get().kind).toBe('publish');
  });

  it('a hub that does not answer tells nothing about the key', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    apiKeyStore.set('whatever');
    await probeAccess();
    expect(hubAccess.get()).toMatchObject({ kind: 'unknown', apiKey: 'whatever' });
  });
});
