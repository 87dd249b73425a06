/** Reads a port from the environment; a bad value is a one-line error naming the variable. */
export function portFrom (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name}=${raw} is not a port number (0-65535)`)
    process.exit(1)
  }
  return port
}

/** Stops on Ctrl-C / SIGTERM; a second signal exits at once. */
export function stopOnSignals (stop: () => Promise<void>): void {
  let stopping = false
  const shutdown = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    stop().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

/** One line to stdout, prefixed with the time, for people watching the demo. */
export function say (line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`)
}
