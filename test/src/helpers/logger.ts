import { EventEmitter } from 'node:events'
import type { Logger } from '@embedmq/core'
import { WAIT_MS, within } from './wait.js'

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error'

export interface LogLine {
  level: Level
  msg: string
  /** The merged bindings and fields of the line. */
  fields: Record<string, unknown>
}

/** A line as one string: its message and its fields, errors shown by their message. */
export function lineText (line: LogLine): string {
  return `${line.msg} ${JSON.stringify(line.fields, (_k, v: unknown) => v instanceof Error ? v.message : v)}`
}

/**
 * A Logger (core's interface) that keeps every line in memory, so tests can
 * assert on what the broker logged. Children share their parent's lines.
 */
export class CapturingLogger implements Logger {
  readonly lines: LogLine[]
  readonly #events: EventEmitter
  readonly #bindings: Record<string, unknown>

  constructor (lines: LogLine[] = [], bindings: Record<string, unknown> = {}, events = new EventEmitter()) {
    this.lines = lines
    this.#bindings = bindings
    this.#events = events
  }

  trace (obj: object | string, msg?: string): void { this.#write('trace', obj, msg) }
  debug (obj: object | string, msg?: string): void { this.#write('debug', obj, msg) }
  info (obj: object | string, msg?: string): void { this.#write('info', obj, msg) }
  warn (obj: object | string, msg?: string): void { this.#write('warn', obj, msg) }
  error (obj: object | string, msg?: string): void { this.#write('error', obj, msg) }

  child (bindings: Record<string, unknown>): Logger {
    return new CapturingLogger(this.lines, { ...this.#bindings, ...bindings }, this.#events)
  }

  #write (level: Level, obj: object | string, msg?: string): void {
    const line: LogLine = typeof obj === 'string'
      ? { level, msg: obj, fields: { ...this.#bindings } }
      : { level, msg: msg ?? '', fields: { ...this.#bindings, ...obj } }
    this.lines.push(line)
    this.#events.emit('line', line)
  }

  /** Resolves with the first line (already logged or to come) that `accept` takes, or rejects after `ms`. */
  waitForLine (what: string, accept: (line: LogLine) => boolean, ms = WAIT_MS): Promise<LogLine> {
    const found = this.lines.find(accept)
    if (found) return Promise.resolve(found)
    let listener: ((line: LogLine) => void) | undefined
    const seen = new Promise<LogLine>((resolve) => {
      listener = (line: LogLine) => { if (accept(line)) resolve(line) }
      this.#events.on('line', listener)
    })
    // On failure the test's broker log is printed by releaseAll (see createTestBroker).
    return within(seen, `a log line: ${what}`, ms)
      .finally(() => this.#events.off('line', listener as (line: LogLine) => void))
  }

  /** All lines, one per line, for failure reports. */
  format (indent = ''): string {
    return this.lines.map(l => `${indent}${l.level.toUpperCase()} ${lineText(l)}`).join('\n')
  }
}
