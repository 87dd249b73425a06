import { portFromEnv } from '@embedmq/core'

/** Reads a port from the environment; a bad value is a one-line error naming the variable, and exit 1. */
export function portFrom (name: string, fallback: number): number {
  try {
    return portFromEnv(name, fallback)
  } catch (err) {
    console.error((err as Error).message)
    process.exit(1)
  }
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
