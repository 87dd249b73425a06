import { TokenBucket } from './token-bucket.js'

/**
 * New connections a second per remote address (a token bucket each, burst of
 * one second). Buckets of quiet addresses are forgotten, so the map stays
 * bounded by the addresses active in the last few seconds.
 */
export class AddressRateLimiter {
  readonly #buckets = new Map<string, { bucket: TokenBucket, lastSeen: number }>()
  #lastSweep = Date.now()

  constructor (private readonly perSecond: number) {}

  /** Whether a new connection from this address may proceed. */
  admit (address: string | undefined): boolean {
    if (this.perSecond <= 0 || address === undefined) return true
    const now = Date.now()
    if (now - this.#lastSweep > 10_000) this.#sweep(now)
    let entry = this.#buckets.get(address)
    if (!entry) {
      entry = { bucket: new TokenBucket(this.perSecond, Math.max(1, this.perSecond)), lastSeen: now }
      this.#buckets.set(address, entry)
    }
    entry.lastSeen = now
    return entry.bucket.take(1)
  }

  #sweep (now: number): void {
    this.#lastSweep = now
    for (const [address, entry] of this.#buckets) if (now - entry.lastSeen > 10_000) this.#buckets.delete(address)
  }
}
