import { useEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RatePoint } from '../../lib/rates';
import { WINDOW_MS } from '../../lib/statsFeed';

const HEIGHT = 260;

// The chart's colours follow the theme: it is rebuilt when the colour scheme changes.
const DARK = '(prefers-color-scheme: dark)';
const subscribeScheme = (onChange: () => void) => {
  const m = window.matchMedia(DARK);
  m.addEventListener('change', onChange);
  return () => m.removeEventListener('change', onChange);
};
const isDark = () => window.matchMedia(DARK).matches;

/** Series colours from the theme (light or dark), read when the chart is built. */
function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    text: v('--muted', '#888'),
    grid: v('--line', '#ccc'),
    events: v('--accent2', '#3b82f6'),
    deliveries: v('--accent', '#10b981'),
    connections: v('--warn', '#f59e0b'),
  };
}

function toData(points: readonly RatePoint[]): uPlot.AlignedData {
  return [
    points.map((p) => p.at / 1000),
    points.map((p) => p.eventsPerSecond),
    points.map((p) => p.deliveriesPerSecond),
    points.map((p) => p.connections),
  ];
}

/**
 * Events/s, deliveries/s (left axis) and open connections (right axis) over the last
 * minutes, drawn by uPlot on a canvas. The canvas is decorative for assistive technology:
 * the same numbers are in the text beside it.
 */
export function RateChart({ points, label }: { points: readonly RatePoint[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dark = useSyncExternalStore(subscribeScheme, isDark);

  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const c = palette();
    const axis = (scale: string, side: 1 | 3): uPlot.Axis => ({
      scale,
      side,
      stroke: c.text,
      grid: { show: side === 3, stroke: c.grid, width: 1 },
      ticks: { stroke: c.grid, width: 1 },
      values: (_u, splits) => splits.map((s) => (s >= 1000 ? `${(s / 1000).toFixed(1)}k` : String(Math.round(s * 10) / 10))),
      label: scale === 'rate' ? 'per second' : 'connections',
      labelSize: 18,
      size: 50,
    });
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true }, rate: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] }, conn: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{ stroke: c.text, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } }, axis('rate', 3), axis('conn', 1)],
      series: [
        {},
        { label: 'events/s', scale: 'rate', stroke: c.events, width: 2, spanGaps: false },
        { label: 'deliveries/s', scale: 'rate', stroke: c.deliveries, width: 2, spanGaps: false },
        { label: 'connections', scale: 'conn', stroke: c.connections, width: 2, dash: [6, 4] },
      ],
    };
    const u = new uPlot(opts, toData([]), el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [dark]);

  useEffect(() => {
    const u = plot.current;
    if (u === null) return;
    u.setData(toData(points), false);
    const now = Date.now() / 1000;
    u.setScale('x', { min: now - WINDOW_MS / 1000, max: now });
  }, [points, dark]);

  return <div ref={box} className="rate-chart" role="img" aria-label={label} data-testid="rate-chart" data-points={points.length} />;
}
