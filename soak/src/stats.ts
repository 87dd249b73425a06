/**
 * Small statistics kit: a mergeable latency histogram (so generator processes
 * can ship per-interval distributions over IPC instead of raw samples) and a
 * least-squares slope with its standard error (for the memory verdict).
 */

const BASE_MS = 0.01
const GROWTH = 1.02 // ~2 % relative precision per bucket
const LOG_GROWTH = Math.log(GROWTH)

/** A histogram's wire form: sparse bucket counts. */
export interface HistogramData {
  buckets: Record<string, number>
  count: number
  maxMs: number
}

export class Histogram {
  readonly #buckets = new Map<number, number>()
  #count = 0
  #max = 0

  static from (data: HistogramData): Histogram {
    const h = new Histogram()
    h.merge(data)
    return h
  }

  get count (): number { return this.#count }
  get maxMs (): number { return this.#max }

  record (ms: number): void {
    const v = Math.max(ms, 0)
    const i = v <= BASE_MS ? 0 : Math.ceil(Math.log(v / BASE_MS) / LOG_GROWTH)
    this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + 1)
    this.#count++
    if (v > this.#max) this.#max = v
  }

  merge (data: HistogramData | Histogram): void {
    const d = data instanceof Histogram ? data.toJSON() : data
    for (const [key, n] of Object.entries(d.buckets)) {
      const i = Number(key)
      this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + n)
    }
    this.#count += d.count
    if (d.maxMs > this.#max) this.#max = d.maxMs
  }

  /** The q-quantile in ms (a bucket's upper bound, so at most ~2 % high); undefined when empty. */
  quantile (q: number): number | undefined {
    if (this.#count === 0) return undefined
    const rank = Math.max(1, Math.ceil(q * this.#count))
    let seen = 0
    for (const i of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      seen += this.#buckets.get(i) ?? 0
      if (seen >= rank) return Math.min(BASE_MS * GROWTH ** i, this.#max)
    }
    return this.#max
  }

  toJSON (): HistogramData {
    return { buckets: Object.fromEntries(this.#buckets), count: this.#count, maxMs: this.#max }
  }
}

export interface Fit {
  /** Units of y per unit of x. */
  slope: number
  intercept: number
  /** Standard error of the slope; Infinity with fewer than 3 points. */
  slopeStdErr: number
  n: number
}

/** Ordinary least squares of y on x. */
export function linearFit (points: ReadonlyArray<{ x: number, y: number }>): Fit | undefined {
  const n = points.length
  if (n < 2) return undefined
  const mx = points.reduce((s, p) => s + p.x, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  let sxx = 0
  let sxy = 0
  for (const p of points) {
    sxx += (p.x - mx) ** 2
    sxy += (p.x - mx) * (p.y - my)
  }
  if (sxx === 0) return undefined
  const slope = sxy / sxx
  const intercept = my - slope * mx
  let sse = 0
  for (const p of points) sse += (p.y - (intercept + slope * p.x)) ** 2
  const slopeStdErr = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : Infinity
  return { slope, intercept, slopeStdErr, n }
}

export function median (values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/** A growable bit set, for "which sequence numbers of a stream arrived". */
export class BitSet {
  #bits = new Uint8Array(1024)

  /** Sets bit i; returns whether it was already set. */
  set (i: number): boolean {
    const byte = i >>> 3
    if (byte >= this.#bits.length) {
      let size = this.#bits.length
      while (size <= byte) size *= 2
      const grown = new Uint8Array(size)
      grown.set(this.#bits)
      this.#bits = grown
    }
    const mask = 1 << (i & 7)
    const was = (this.#bits[byte]! & mask) !== 0
    this.#bits[byte] = this.#bits[byte]! | mask
    return was
  }

  has (i: number): boolean {
    const byte = i >>> 3
    return byte < this.#bits.length && (this.#bits[byte]! & (1 << (i & 7))) !== 0
  }
}

export const LOOP_RESOLUTION_MS = 10

/** monitorEventLoopDelay's samples include its own timer period; what is left is the delay. */
export function loopDelayMs (ns: number): number {
  return Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS)
}
