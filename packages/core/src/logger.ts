import { pino, type LevelWithSilent } from 'pino'

/**
 * The logging contract between core and plugins: a subset of pino's API, so a
 * host app can pass its own pino (or any compatible) logger.
 */
export interface Logger {
  trace (obj: object | string, msg?: string): void
  debug (obj: object | string, msg?: string): void
  info (obj: object | string, msg?: string): void
  warn (obj: object | string, msg?: string): void
  error (obj: object | string, msg?: string): void
  child (bindings: Record<string, unknown>): Logger
}

export type LogLevel = LevelWithSilent

export function createLogger (level: LogLevel = 'info', name = 'embedmq'): Logger {
  return pino({ name, level })
}

/** A logger that drops everything: for tests and hosts that want silence. */
export const silentLogger: Logger = pino({ level: 'silent' })
