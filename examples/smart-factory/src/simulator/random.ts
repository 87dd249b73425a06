/**
 * A seeded pseudo-random source, so a simulation (and a test) replays exactly
 * from its seed. mulberry32: tiny, fast, good enough for telemetry noise.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next (): number
  /** Uniform in [min, max). */
  between (min: number, max: number): number
  /** Standard normal (mean 0, deviation 1), by Box–Muller. */
  gaussian (): number
  /** True with probability p. */
  chance (p: number): boolean
  /** One element of a non-empty list. */
  pick<T> (items: readonly T[]): T
}

/** A 32-bit hash of a string (FNV-1a), to derive per-machine seeds from one plant seed. */
export function hashSeed (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export function createRandom (seed: number | string): Random {
  let state = (typeof seed === 'string' ? hashSeed(seed) : seed) >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    gaussian: () => {
      const u = 1 - next() // (0, 1]: log(0) would be -Infinity
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next())
    },
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)]
      if (item === undefined) throw new Error('pick from an empty list')
      return item
    }
  }
}
