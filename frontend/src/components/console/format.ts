// Number formatting for the console's tables and tiles.

/** `1,234`, or an em dash for a value the hub did not report. */
export const num = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toLocaleString());

/** `12.5/s`; `—` while a rate needs a second reading. */
export const rate = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString()}/s`);

/** A yes/no the hub may not report (older hubs): `not reported`. */
export const flag = (v: boolean | undefined, yes: string, no: string): string => (v === undefined ? 'not reported' : v ? yes : no);
