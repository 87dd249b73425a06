import type { EventEmitter } from 'node:events'

/** The default bound for every wait in the suite: generous, so slow CI passes; a hang still fails with a clear message. */
export const WAIT_MS = 5_000

/** Resolves with `promise`, or rejects after `ms` with an error saying what was awaited. */
export function within<T> (promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Resolves when `emitter` emits `event` with arguments accepted by `accept`
 * (any arguments when left out), or rejects after `ms`. Start waiting before
 * causing the event.
 */
export function nextEvent<A extends unknown[]> (
  emitter: EventEmitter, event: string, what: string,
  accept: (...args: A) => boolean = () => true, ms = WAIT_MS
): Promise<A> {
  let listener: ((...args: A) => void) | undefined
  const seen = new Promise<A>((resolve) => {
    listener = (...args: A) => { if (accept(...args)) resolve(args) }
    emitter.on(event, listener as (...args: unknown[]) => void)
  })
  return within(seen, what, ms).finally(() => emitter.off(event, listener as (...args: unknown[]) => void))
}

/** Polls `check` every 10 ms until it returns true, or rejects after `ms`. */
export async function until (check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
