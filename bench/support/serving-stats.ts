/** Latency summaries of the serving bench (nearest-rank percentiles). */
export interface LatencySummary {
  n: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Requests per second over `elapsedMs` (0 when not given). */
  rps: number;
}

export function latencySummary(ms: number[], elapsedMs: number): LatencySummary {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : Number.NaN);
  const r = (v: number) => Number(v.toFixed(2));
  return { n: s.length, p50_ms: r(at(0.5)), p99_ms: r(at(0.99)), max_ms: r(s[s.length - 1] ?? Number.NaN), rps: elapsedMs > 0 ? r((s.length / elapsedMs) * 1000) : 0 };
}
