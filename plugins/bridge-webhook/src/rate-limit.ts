/**
 * Lets one log line through per interval and counts the ones held back, so
 * a failing endpoint cannot flood the log while the log still says how much
 * happened ("... and 41 more since the last line").
 */
export class LineLimiter {
  #lastAt = -Infinity
  #held = 0

  constructor (private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  /** Whether to log now; when true, `held` is how many lines were held back since the last one. */
  admit (): { log: true, held: number } | { log: false } {
    const t = this.now()
    if (t - this.#lastAt < this.intervalMs) {
      this.#held++
      return { log: false }
    }
    const held = this.#held
    this.#lastAt = t
    this.#held = 0
    return { log: true, held }
  }
}
