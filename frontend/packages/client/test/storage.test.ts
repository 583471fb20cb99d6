import { describe, expect, it } from 'vitest';
import { buildStreamUrl } from '../src/index.js';
import { loadPosition, memoryStore, resolveClientId, savePosition } from '../src/storage.js';

describe('client id and position storage', () => {
  it('remembers a generated client id per stream name', () => {
    const store = memoryStore();
    const a = resolveClientId(store, 'dashboard');
    expect(a).toMatch(/^web-[A-Za-z0-9-]+$/);
    expect(resolveClientId(store, 'dashboard')).toBe(a);
    expect(resolveClientId(store, 'other')).not.toBe(a);
  });

  it('an explicit client id wins and is remembered', () => {
    const store = memoryStore();
    expect(resolveClientId(store, 'd', 'tab-1')).toBe('tab-1');
    expect(resolveClientId(store, 'd')).toBe('tab-1');
  });

  it('ignores a corrupt stored position', () => {
    const store = memoryStore({ 'ssehub.lastSequence.c': 'abc' });
    expect(loadPosition(store, 'c')).toBeNull();
    savePosition(store, 'c', 12);
    expect(loadPosition(store, 'c')).toBe(12);
  });
});

describe('buildStreamUrl', () => {
  it('encodes every parameter and leaves out empty ones', () => {
    expect(buildStreamUrl('/api/sse/connect', { clientId: 'a@b', filter: [], checkpoint: null })).toBe('/api/sse/connect?clientId=a%40b');
    expect(buildStreamUrl('/api/sse/connect', { clientId: 'a', filter: ['alert', 'x.y'], checkpoint: 0, apiKey: 'k&=' })).toBe(
      '/api/sse/connect?clientId=a&filter=alert%2Cx.y&checkpoint=0&apikey=k%26%3D',
    );
    expect(buildStreamUrl('/api/sse/connect', { clientId: 'a', filter: [], checkpoint: null, token: 'v1.YQ.9.s-_' })).toBe(
      '/api/sse/connect?clientId=a&token=v1.YQ.9.s-_',
    );
  });
});
