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

/** One line a MemoryLogger kept. */
export interface LogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error'
  /** The bindings of the logger chain and the line's own fields. */
  fields: Record<string, unknown>
  msg: string
}

/**
 * A Logger that keeps every line in memory, for tests that assert on what
 * was logged (and hosts that want to show recent lines somewhere).
 */
export class MemoryLogger implements Logger {
  constructor (readonly entries: LogEntry[] = [], private readonly bindings: Record<string, unknown> = {}) {}

  #log (level: LogEntry['level'], obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.entries.push({ level, fields: { ...this.bindings }, msg: obj })
    else this.entries.push({ level, fields: { ...this.bindings, ...obj as Record<string, unknown> }, msg: msg ?? '' })
  }

  trace (obj: object | string, msg?: string): void { this.#log('trace', obj, msg) }
  debug (obj: object | string, msg?: string): void { this.#log('debug', obj, msg) }
  info (obj: object | string, msg?: string): void { this.#log('info', obj, msg) }
  warn (obj: object | string, msg?: string): void { this.#log('warn', obj, msg) }
  error (obj: object | string, msg?: string): void { this.#log('error', obj, msg) }
  child (bindings: Record<string, unknown>): Logger { return new MemoryLogger(this.entries, { ...this.bindings, ...bindings }) }

  /** Lines at `level` whose message contains `text`. */
  find (level: LogEntry['level'], text: string): LogEntry[] {
    return this.entries.filter(e => e.level === level && e.msg.includes(text))
  }
}
