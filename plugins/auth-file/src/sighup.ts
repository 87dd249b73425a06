/**
 * One process-wide SIGHUP listener for every auth-file instance: a process
 * with many brokers (tests, multi-tenant apps) would otherwise add one
 * listener each and trip Node's MaxListenersExceededWarning past ten.
 */
const handlers = new Set<() => void>()

function dispatch (): void {
  for (const handler of handlers) handler()
}

/** Calls `handler` on SIGHUP until the returned function is called. */
export function onSighup (handler: () => void): () => void {
  if (handlers.size === 0) process.on('SIGHUP', dispatch)
  handlers.add(handler)
  return () => {
    if (handlers.delete(handler) && handlers.size === 0) process.off('SIGHUP', dispatch)
  }
}
