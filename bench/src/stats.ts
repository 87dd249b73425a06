import type { CpuTimes, LatencySummary } from './protocol.js'

/** Median of the values (mean of the middle two for an even count); NaN for none. */
export function median (values: readonly number[]): number {
  const finite = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b)
  const n = finite.length
  if (n === 0) return Number.NaN
  const mid = Math.floor(n / 2)
  return n % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
}

/** Nearest-rank percentile (q in 0..1) of values sorted ascending. */
export function percentile (sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)))
  return sorted[rank - 1]!
}

/** Latency summary of the first `count` samples (ms); sorts a copy. */
export function summarizeLatency (samples: Float64Array, count: number): LatencySummary {
  const sorted = samples.slice(0, count).sort()
  return { count, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: count > 0 ? sorted[count - 1]! : Number.NaN }
}

/** CPU used between two process.cpuUsage() readings, as % of one core over `wallMs`. */
export function cpuPercent (from: CpuTimes, to: CpuTimes, wallMs: number): number {
  const usedMicros = (to.user - from.user) + (to.system - from.system)
  return wallMs > 0 ? usedMicros / 10 / wallMs : Number.NaN
}

/** a relative to b, oriented so that above 1 means a did better. */
export function advantage (a: number, b: number, better: 'higher' | 'lower'): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || a <= 0 || b <= 0) return Number.NaN
  return better === 'higher' ? a / b : b / a
}
