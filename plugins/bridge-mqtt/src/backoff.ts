/**
 * Reconnect delays: exponential from `initialDelayMs`, capped at `maxDelayMs`,
 * each lowered by a random share up to `jitter` so many bridges that lost the
 * same remote do not all knock on it in the same instant.
 */
export class Backoff {
  #attempt = 0

  constructor (private readonly options: { initialDelayMs: number, maxDelayMs: number, jitter: number }, private readonly random: () => number = Math.random) {}

  next (): number {
    const base = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** Math.min(this.#attempt, 30))
    this.#attempt++
    return Math.round(base * (1 - this.options.jitter * this.random()))
  }

  reset (): void { this.#attempt = 0 }
}
