/** Bounding the app's identify call, so a hung session store refuses one client instead of holding it. */

/** Raised when work did not settle in time. */
export class DeadlineExceeded extends Error {
  constructor (readonly ms: number) {
    super(`no answer within ${ms} ms`)
    this.name = 'DeadlineExceeded'
  }
}

/** Runs `work` (sync or async, throwing or not) and settles with it, or rejects with DeadlineExceeded after `ms`. */
export function withDeadline<T> (work: () => T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(ms)), ms)
  })
  // Promise.resolve().then turns a synchronous throw into a rejection.
  return Promise.race([Promise.resolve().then(work), deadline]).finally(() => clearTimeout(timer))
}
