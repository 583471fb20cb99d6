// Rates from monotonic counters: the difference of two readings over the time between
// them (CONTRACT-NEXT item 2). No React, no I/O: unit-tested.
import type { NodeStats, Stats } from './api';

/** Counters of one reading; null where the hub does not report one. */
export interface Counters {
  /** Events accepted into the outbox. */
  published: number | null;
  /** Frames handed to connections (one per event per subscriber). */
  delivered: number | null;
  /** Streams opened. */
  opened: number | null;
  /** Open streams now (a gauge, not a counter). */
  connections: number;
}

/** Where the counters came from: the stats of every node, this node's stats, or its /metrics. */
export type CounterScope = 'cluster' | 'node' | 'metrics';

export interface Reading {
  at: number;
  counters: Counters;
  scope: CounterScope;
}

/** Per-second rate between two readings of one counter; null when unknown or reset (a restart). */
export function perSecond(prev: number | null, next: number | null, elapsedMs: number): number | null {
  if (prev === null || next === null || elapsedMs <= 0 || next < prev) return null;
  return ((next - prev) * 1000) / elapsedMs;
}

const sum = (xs: readonly (number | undefined)[]): number | null => (xs.every((x) => x !== undefined) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : null);

/**
 * The counters of a stats answer: summed over `nodes[]` when every node reports them (a
 * cluster's totals), else this node's own.
 */
export function countersOf(stats: Stats): { counters: Counters; scope: CounterScope } | null {
  const nodes = stats.nodes ?? [];
  if (nodes.length > 1) {
    const published = sum(nodes.map((n) => n.eventsPublished));
    const delivered = sum(nodes.map((n) => n.framesDelivered));
    if (published !== null && delivered !== null) {
      return {
        scope: 'cluster',
        counters: { published, delivered, opened: sum(nodes.map((n) => n.streamsOpened)), connections: sum(nodes.map((n) => n.connections)) ?? stats.connections },
      };
    }
  }
  if (stats.eventsPublished === undefined || stats.framesDelivered === undefined) return null;
  return {
    scope: 'node',
    counters: { published: stats.eventsPublished, delivered: stats.framesDelivered, opened: stats.streamsOpened ?? null, connections: stats.connections },
  };
}

/**
 * The same counters from this node's Prometheus text (`GET /metrics`), for hubs whose stats
 * do not report them yet. Published events are summed over their `event_type` labels.
 */
export function countersFromMetrics(text: string, connections: number): Counters {
  let published: number | null = null;
  let delivered: number | null = null;
  let opened: number | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^(ssehub_[a-z_]+?)(?:_total)?(\{[^}]*\})? ([0-9.eE+-]+)/.exec(line);
    if (m === null) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === 'ssehub_events_published') published = (published ?? 0) + value;
    else if (m[1] === 'ssehub_frames_delivered') delivered = value;
    else if (m[1] === 'ssehub_sse_connections') opened = value;
  }
  return { published, delivered, opened, connections };
}

export interface RatePoint {
  at: number;
  eventsPerSecond: number | null;
  deliveriesPerSecond: number | null;
  connections: number;
}

/** The chart's series: one point per consecutive pair of readings of the same scope. */
export function ratePoints(readings: readonly Reading[]): RatePoint[] {
  const out: RatePoint[] = [];
  for (let i = 1; i < readings.length; i++) {
    const a = readings[i - 1];
    const b = readings[i];
    if (a === undefined || b === undefined) continue;
    const same = a.scope === b.scope;
    const dt = b.at - a.at;
    out.push({
      at: b.at,
      eventsPerSecond: same ? perSecond(a.counters.published, b.counters.published, dt) : null,
      deliveriesPerSecond: same ? perSecond(a.counters.delivered, b.counters.delivered, dt) : null,
      connections: b.counters.connections,
    });
  }
  return out;
}

/** One node's report, remembered with the time it was made (its `seenAt`, else when read). */
export interface NodeReport {
  at: number;
  stats: NodeStats;
}

export interface NodeRates {
  eventsPerSecond: number | null;
  deliveriesPerSecond: number | null;
}

/**
 * A node's rates from its last two distinct reports. Nodes report every few seconds, so
 * two polls can see the same report: rates come from reports, not from polls.
 */
export function nodeRates(prev: NodeReport | undefined, next: NodeReport): NodeRates {
  if (prev === undefined) return { eventsPerSecond: null, deliveriesPerSecond: null };
  const dt = next.at - prev.at;
  return {
    eventsPerSecond: perSecond(prev.stats.eventsPublished ?? null, next.stats.eventsPublished ?? null, dt),
    deliveriesPerSecond: perSecond(prev.stats.framesDelivered ?? null, next.stats.framesDelivered ?? null, dt),
  };
}
