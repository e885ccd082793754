/** A count or rate as the benches print it: rounded, with thousands separators (`1,234,567`). */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
