// Clock formatting shared by status lines: every status says when it was true.

/** `14:03:07` in the user's locale, 24 h. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** `14:03:07.042`, for event rows. */
export function clockMs(ms: number): string {
  return `${clock(ms)}.${String(new Date(ms).getMilliseconds()).padStart(3, '0')}`;
}

/** `4 s`, `3 min 2 s`, `2 h 5 min`: how long ago or how long for. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}
