import { Histogram } from '../stats.js'
import type { Transport } from '../plan.js'
import { emptyPerQos, type PerQos, type Phase } from '../protocol.js'

/** Interval counters one generator's clients add to; the generator snapshots and resets them on every tick. */
export class Counters {
  published: PerQos = emptyPerQos()
  accepted: PerQos = emptyPerQos()
  skipped = 0
  received: PerQos = emptyPerQos()
  persistentReceived = 0
  latency = new Histogram()
  flapConnects = 0
  willsReceived = 0
  unexpectedDisconnects = 0
  errors = 0

  // Run totals (not reset per interval).
  phase: Phase = 'warmup'
  /** Latency by "<phase> <transport> q<qos>", for the end-of-run comparison. */
  readonly runLatency = new Map<string, Histogram>()
  /** When any accounted subscriber last got a message: the end-of-run accounting waits for quiet. */
  lastDeliveryAt = 0
  totalWillsReceived = 0
  totalUnexpectedDisconnects = 0
  readonly errorExamples: string[] = []

  /** A new delivery to an always-on subscriber. */
  delivered (transport: Transport, qos: number, latencyMs: number): void {
    this.received[qos as 0 | 1 | 2]++
    this.latency.record(latencyMs)
    const key = `${this.phase} ${transport} q${qos}`
    let h = this.runLatency.get(key)
    if (!h) this.runLatency.set(key, h = new Histogram())
    h.record(latencyMs)
  }

  error (where: string, err: unknown): void {
    this.errors++
    const text = `${where}: ${err instanceof Error ? err.message : String(err)}`
    if (this.errorExamples.length < 10 && !this.errorExamples.includes(text)) this.errorExamples.push(text)
  }

  disconnectedUnexpectedly (): void {
    this.unexpectedDisconnects++
    this.totalUnexpectedDisconnects++
  }

  will (): void {
    this.willsReceived++
    this.totalWillsReceived++
  }

  reset (): void {
    this.published = emptyPerQos()
    this.accepted = emptyPerQos()
    this.skipped = 0
    this.received = emptyPerQos()
    this.persistentReceived = 0
    this.latency = new Histogram()
    this.flapConnects = 0
    this.willsReceived = 0
    this.unexpectedDisconnects = 0
    this.errors = 0
  }
}
