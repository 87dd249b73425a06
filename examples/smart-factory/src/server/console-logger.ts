/**
 * A human-readable logger for `npm start`: one line per entry, time, level
 * and message, plus the fields that matter — instead of pino's JSON, which
 * is for machines. Implements core's Logger contract.
 */
import type { Logger, LogLevel } from '@embedmq/core'

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const
type Level = typeof LEVELS[number]

export class ConsoleLogger implements Logger {
  readonly #min: number
  readonly #bindings: Record<string, unknown>

  constructor (level: LogLevel = 'info', bindings: Record<string, unknown> = {}) {
    this.#min = level === 'silent' ? Infinity : level === 'fatal' ? LEVELS.length : Math.max(0, LEVELS.indexOf(level as Level))
    this.#bindings = bindings
  }

  trace (obj: object | string, msg?: string): void { this.#log('trace', obj, msg) }
  debug (obj: object | string, msg?: string): void { this.#log('debug', obj, msg) }
  info (obj: object | string, msg?: string): void { this.#log('info', obj, msg) }
  warn (obj: object | string, msg?: string): void { this.#log('warn', obj, msg) }
  error (obj: object | string, msg?: string): void { this.#log('error', obj, msg) }

  child (bindings: Record<string, unknown>): Logger {
    const level = this.#min === Infinity ? 'silent' : LEVELS[this.#min] ?? 'error'
    return new ConsoleLogger(level, { ...this.#bindings, ...bindings })
  }

  #log (level: Level, obj: object | string, msg?: string): void {
    if (LEVELS.indexOf(level) < this.#min) return
    const fields: Record<string, unknown> = typeof obj === 'string' ? {} : { ...(obj as Record<string, unknown>) }
    const text = typeof obj === 'string' ? obj : msg ?? ''
    const err = fields.err instanceof Error ? fields.err : undefined
    delete fields.err
    const who = typeof this.#bindings.plugin === 'string' ? `[${this.#bindings.plugin}] ` : typeof this.#bindings.component === 'string' ? `[${this.#bindings.component}] ` : ''
    const time = new Date().toTimeString().slice(0, 8)
    const tag = level === 'info' ? '' : `${level.toUpperCase()} `
    const line = `${time} ${tag}${who}${text}${err ? `: ${err.message}` : ''}`
    if (level === 'warn' || level === 'error') console.error(line)
    else console.log(line)
  }
}
