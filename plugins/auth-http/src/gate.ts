/**
 * Bounds how many requests are in flight at once, so a reconnect storm of
 * thousands of devices queues here instead of opening thousands of sockets to
 * the auth service. Waiting counts against the caller's deadline: a request
 * that waits too long for a slot times out like a slow answer (fail closed).
 */
export class Gate {
  #free: number
  readonly #waiting: Array<{ grant: () => void }> = []

  constructor (size: number) {
    this.#free = size
  }

  /** Resolves to a release function once a slot is free; rejects with the signal's reason if it aborts first. */
  enter (signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason)
    if (this.#free > 0) {
      this.#free--
      return Promise.resolve(this.#releaser())
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort)
          resolve(this.#releaser())
        }
      }
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(waiter)
        if (at >= 0) this.#waiting.splice(at, 1)
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(waiter)
    })
  }

  #releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      if (next) next.grant()
      else this.#free++
    }
  }
}
