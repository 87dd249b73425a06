/**
 * The audit trail of what people did: commands sent and alarms acknowledged.
 * Kept in memory (the most recent `capacity` entries) and written as log lines,
 * which are the durable record.
 */
import type { Logger } from '@embedmq/core'

export interface AuditEntry {
  ts: number
  /** Username. */
  by: string
  kind: 'command' | 'alarm-ack'
  machine: string
  /** The command action, or the alarm id. */
  subject: string
  /** What came of it, e.g. "acknowledged", "timeout", "queued: machine offline". */
  outcome: string
}

export class AuditLog {
  readonly #entries: AuditEntry[] = []
  readonly #capacity: number
  readonly #logger: Logger

  constructor (logger: Logger, capacity = 500) {
    this.#logger = logger
    this.#capacity = capacity
  }

  record (entry: AuditEntry): void {
    this.#entries.push(entry)
    if (this.#entries.length > this.#capacity) this.#entries.splice(0, this.#entries.length - this.#capacity)
    this.#logger.info({ audit: entry.kind, by: entry.by, machine: entry.machine, subject: entry.subject, outcome: entry.outcome },
      `audit: ${entry.by} ${entry.kind === 'command' ? `sent ${entry.subject} to` : `acknowledged alarm ${entry.subject} of`} ${entry.machine}: ${entry.outcome}`)
  }

  /** Newest first. */
  entries (): AuditEntry[] {
    return [...this.#entries].reverse()
  }
}
