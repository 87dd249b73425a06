/** A cached value with its freshness. */
export interface Cached<V> {
  value: V
  /** When it stops being fresh (ms since the epoch). */
  expiresAt: number
  /** Whether it is still within its TTL; a stale one is only returned while inside its grace period. */
  fresh: boolean
}

interface Slot<V> {
  value: V
  expiresAt: number
  staleUntil: number
}

/**
 * A bounded map with per-entry TTLs, least recently used evicted first
 * (a Map keeps insertion order; a hit is re-inserted at the end).
 * An entry may have a grace period after its TTL during which `get` still
 * returns it marked stale: reads use that to keep answering while a refresh
 * runs. Expired entries are dropped when looked up or evicted.
 */
export class TtlCache<V> {
  readonly #slots = new Map<string, Slot<V>>()

  constructor (private readonly maxEntries: number, private readonly now: () => number = Date.now) {}

  get (key: string): Cached<V> | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    const now = this.now()
    if (now >= slot.staleUntil) {
      this.#slots.delete(key)
      return undefined
    }
    this.#slots.delete(key)
    this.#slots.set(key, slot)
    return { value: slot.value, expiresAt: slot.expiresAt, fresh: now < slot.expiresAt }
  }

  /** Stores `value` for `ttlMs` (plus `graceMs` stale); a TTL of 0 stores nothing and forgets the key. */
  set (key: string, value: V, ttlMs: number, graceMs = 0): void {
    this.#slots.delete(key)
    if (ttlMs <= 0) return
    const expiresAt = this.now() + ttlMs
    this.#slots.set(key, { value, expiresAt, staleUntil: expiresAt + graceMs })
    while (this.#slots.size > this.maxEntries) {
      const oldest = this.#slots.keys().next()
      if (oldest.done === true) break
      this.#slots.delete(oldest.value)
    }
  }

  delete (key: string): void {
    this.#slots.delete(key)
  }

  clear (): void {
    this.#slots.clear()
  }

  get size (): number {
    return this.#slots.size
  }
}
