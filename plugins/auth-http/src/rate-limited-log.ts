import type { Logger } from '@embedmq/core'

/**
 * Logs a recurring problem at most once per interval per key, saying how many
 * occurrences in between were not logged: a down endpoint asked a thousand
 * times a second gives one line every interval, not a thousand.
 */
export class RateLimitedLog {
  readonly #windows = new Map<string, { loggedAt: number, suppressed: number }>()

  constructor (private readonly log: Logger, private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  error (key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now()
    const window = this.#windows.get(key)
    if (window !== undefined && now - window.loggedAt < this.intervalMs) {
      window.suppressed++
      return
    }
    const suppressed = window?.suppressed ?? 0
    this.#windows.set(key, { loggedAt: now, suppressed: 0 })
    const more = suppressed > 0 ? ` (${suppressed} more since the last line were not logged)` : ''
    this.log.error({ ...fields, suppressed }, `${message}${more}`)
  }

  /** Forgets a key's window, so the next occurrence is logged at once (e.g. after a recovery). */
  reset (key: string): void {
    this.#windows.delete(key)
  }
}
