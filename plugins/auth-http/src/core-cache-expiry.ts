/**
 * The broker caches every authorization answer per client until told to
 * forget (`invalidateAuthorizations`). This keeps that cache in step with the
 * plugin's TTLs: for each client it holds one timer, set to the earliest
 * moment any answer given to that client stops being valid, and then empties
 * that client's broker cache so the next check asks the plugin again (which
 * answers from its own cache, or the service). Timers are unref'd and at most
 * one per client.
 */
export class CoreCacheExpiry {
  readonly #timers = new Map<string, { at: number, timer: NodeJS.Timeout }>()
  #closed = false

  constructor (private readonly invalidate: (clientId: string) => void, private readonly now: () => number = Date.now) {}

  /** Makes sure the client's broker cache is emptied no later than `at`. */
  by (clientId: string, at: number): void {
    if (this.#closed) return
    const current = this.#timers.get(clientId)
    if (current !== undefined && current.at <= at) return
    if (current !== undefined) clearTimeout(current.timer)
    const timer = setTimeout(() => {
      this.#timers.delete(clientId)
      this.invalidate(clientId)
    }, Math.max(0, at - this.now()))
    timer.unref()
    this.#timers.set(clientId, { at, timer })
  }

  /**
   * Empties the client's broker cache now: for answers it already holds that
   * a background result has just overtaken. (Useless for the answer a check
   * is about to give: the broker caches that after the check returns.)
   */
  immediately (clientId: string): void {
    if (!this.#closed) this.invalidate(clientId)
  }

  /** Cancels every timer; later requests (answers arriving after stop) are ignored. */
  close (): void {
    this.#closed = true
    for (const { timer } of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }
}
