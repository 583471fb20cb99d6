import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollDelay, Poller } from '../lib/poller';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Poller', () => {
  it('polls at the interval while the loader succeeds', async () => {
    let n = 0;
    const p = new Poller(() => Promise.resolve(++n), { everyMs: 1000 });
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.getSnapshot().data).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.getSnapshot().data).toBe(2);
    await vi.advanceTimersByTimeAsync(3000);
    expect(p.getSnapshot().data).toBe(5);
    p.stop();
  });

  it('backs off while it fails, keeps the last data marked with its time, and recovers', async () => {
    let up = true;
    let calls = 0;
    const p = new Poller(
      () => {
        calls += 1;
        return up ? Promise.resolve('ok') : Promise.reject(new Error('down'));
      },
      { everyMs: 1000, maxMs: 8000 },
    );
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    const okAt = p.getSnapshot().updatedAt;
    up = false;
    await vi.advanceTimersByTimeAsync(1000); // fails: next in 2 s
    const failing = p.getSnapshot();
    expect(failing.data).toBe('ok');
    expect(failing.updatedAt).toBe(okAt);
    expect(failing.failingSince).not.toBeNull();
    expect(failing.failures).toBe(1);
    const before = calls;
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toBe(before); // backed off: not yet
    await vi.advanceTimersByTimeAsync(1); // 2nd failure: next in 4 s, then 8 s (the cap)
    await vi.advanceTimersByTimeAsync(4000);
    expect(p.getSnapshot().failures).toBe(3);
    up = true;
    await vi.advanceTimersByTimeAsync(8000);
    const back = p.getSnapshot();
    expect(back.failingSince).toBeNull();
    expect(back.failures).toBe(0);
    expect(back.error).toBeNull();
    p.stop();
  });

  it('ignores an answer that arrives after stop', async () => {
    let resolve: (v: number) => void = () => undefined;
    const p = new Poller(() => new Promise<number>((r) => (resolve = r)), { everyMs: 1000 });
    p.start();
    p.stop();
    resolve(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(p.getSnapshot().data).toBeNull();
  });

  it('doubles the delay per failure up to the cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((f) => pollDelay(2000, 30_000, f))).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});
