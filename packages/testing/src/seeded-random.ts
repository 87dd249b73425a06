/**
 * A small seeded PRNG (mulberry32), for test tools that must replay exactly
 * from a seed: the fuzzer (every input derives from its seed, so a finding
 * replays from the seed alone) and the soak run (`--seed` reproduces the same
 * mix). Not cryptographic; it does not need to be.
 */
export class SeededRandom {
  #state: number

  constructor (readonly seed: number) {
    this.#state = seed >>> 0
  }

  /** The next 32-bit unsigned integer. */
  uint32 (): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** A float in [0, 1). */
  next (): number {
    return this.uint32() / 4294967296
  }

  /** An integer in [0, n). */
  int (n: number): number {
    return n <= 0 ? 0 : Math.floor(this.next() * n)
  }

  /** An integer in [lo, hi], both included. */
  range (lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /** A float in [min, max). */
  between (min: number, max: number): number {
    return min + this.next() * (max - min)
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)]!
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T> (entries: ReadonlyArray<readonly [number, T]>): T {
    let total = 0
    for (const [w] of entries) total += w
    let r = this.next() * total
    for (const [w, value] of entries) {
      r -= w
      if (r < 0) return value
    }
    return entries[entries.length - 1]![1]
  }

  bytes (n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) out[i] = this.uint32() & 0xff
    return out
  }

  /** A length skewed towards small values (most fuzz inputs should be short, some long). */
  skewed (max: number): number {
    const r = this.next()
    return Math.floor(r * r * r * (max + 1))
  }

  /**
   * An independent stream named by `label`, seeded from this one's current
   * state, so adding a client does not reshuffle the others' streams.
   */
  fork (label: string): SeededRandom {
    let h = this.#state ^ 0x9E3779B9
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
    return new SeededRandom(h >>> 0)
  }
}

/**
 * Mixes labels into a seed (FNV-1a, then a murmur3 finaliser), so every batch
 * and session has its own stream: session 17 of batch 4 is the same whatever
 * the sessions before it consumed.
 */
export function deriveSeed (seed: number, ...labels: Array<string | number>): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (const label of labels) {
    const text = String(label)
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i)
      h = Math.imul(h, 0x01000193) >>> 0
    }
    h ^= 0x2f // separator, so ('1', '23') differs from ('12', '3')
    h = Math.imul(h, 0x01000193) >>> 0
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  return h >>> 0
}

/** A seed from a UTC date, e.g. 2025-11-25 → 20251125: new ground every day, yet reproducible from the test title. */
export function dateSeed (date = new Date()): number {
  return date.getUTCFullYear() * 10000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate()
}
