import { describe, expect, it } from 'vitest';
import type { Stats } from '../lib/api';
import { countersFromMetrics, countersOf, nodeRates, perSecond, ratePoints, type Reading } from '../lib/rates';

const base: Stats = { node: 'a', connections: 3 };

describe('rates', () => {
  it('is the difference over the elapsed time, and unknown across a counter reset', () => {
    expect(perSecond(100, 130, 2000)).toBe(15);
    expect(perSecond(100, 40, 2000)).toBeNull(); // the node restarted
    expect(perSecond(null, 40, 2000)).toBeNull();
    expect(perSecond(1, 2, 0)).toBeNull();
  });

  it('sums the nodes of a cluster when every node reports counters, else uses this node', () => {
    const cluster: Stats = {
      ...base,
      eventsPublished: 5,
      framesDelivered: 50,
      nodes: [
        { node: 'a', connections: 2, eventsPublished: 10, framesDelivered: 100, streamsOpened: 4 },
        { node: 'b', connections: 1, eventsPublished: 7, framesDelivered: 70, streamsOpened: 2 },
      ],
    };
    expect(countersOf(cluster)).toEqual({ scope: 'cluster', counters: { published: 17, delivered: 170, opened: 6, connections: 3 } });
    const partial: Stats = { ...cluster, nodes: [{ node: 'a', eventsPublished: 1 }, { node: 'b' }] };
    expect(countersOf(partial)?.scope).toBe('node');
    expect(countersOf(base)).toBeNull(); // an older hub: read /metrics instead
  });

  it('reads the same counters from Prometheus text', () => {
    const text = [
      '# TYPE ssehub_events_published counter',
      'ssehub_events_published_total{event_type="alert"} 3',
      'ssehub_events_published_total{event_type="custom"} 4',
      'ssehub_events_published_created{event_type="alert"} 1.7e9',
      'ssehub_frames_delivered_total 21',
      'ssehub_sse_connections_total 5',
      'ssehub_sse_connections_open 2',
      '# EOF',
    ].join('\n');
    expect(countersFromMetrics(text, 2)).toEqual({ published: 7, delivered: 21, opened: 5, connections: 2 });
  });

  it('makes one chart point per pair of readings of the same scope', () => {
    const r = (at: number, published: number, delivered: number, scope: Reading['scope'] = 'node'): Reading => ({
      at,
      scope,
      counters: { published, delivered, opened: null, connections: 1 },
    });
    const points = ratePoints([r(0, 0, 0), r(2000, 10, 30), r(4000, 10, 30, 'metrics')]);
    expect(points).toEqual([
      { at: 2000, eventsPerSecond: 5, deliveriesPerSecond: 15, connections: 1 },
      { at: 4000, eventsPerSecond: null, deliveriesPerSecond: null, connections: 1 },
    ]);
  });

  it("takes a node's rates from its last two reports", () => {
    const prev = { at: 0, stats: { node: 'a', eventsPublished: 0, framesDelivered: 0 } };
    const next = { at: 4000, stats: { node: 'a', eventsPublished: 8, framesDelivered: 40 } };
    expect(nodeRates(prev, next)).toEqual({ eventsPerSecond: 2, deliveriesPerSecond: 10 });
    expect(nodeRates(undefined, next)).toEqual({ eventsPerSecond: null, deliveriesPerSecond: null });
  });
});
