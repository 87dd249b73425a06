/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. Spending
 * may go into debt; `waitMs()` says how long until the debt is repaid.
 */
export class TokenBucket {
  #tokens: number
  #last: number

  constructor (private readonly rate: number, private readonly burst: number, private readonly now: () => number = Date.now) {
    this.#tokens = burst
    this.#last = now()
  }

  #refill (): void {
    const t = this.now()
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) * this.rate) / 1000)
    this.#last = t
  }

  /** Takes `n` tokens; returns false when that left the bucket in debt. */
  take (n: number): boolean {
    this.#refill()
    this.#tokens -= n
    return this.#tokens >= 0
  }

  /** Milliseconds until a whole token is available again (0 when one is). */
  waitMs (): number {
    this.#refill()
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.rate)
  }
}
