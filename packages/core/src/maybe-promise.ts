import type { MaybePromise } from './plugins/extensions.js'

/**
 * Hooks answer with a value or a promise; the hot paths go on synchronously
 * when they can. These two helpers are the only place that tells them apart.
 */
export function isThenable<T> (value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/** Applies `fn` now to a value, or when a promise settles. */
export function then<T, R> (value: MaybePromise<T>, fn: (v: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable(value) ? value.then(fn) : fn(value)
}
