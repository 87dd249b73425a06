import type { MqttClient } from 'mqtt'
import type { LoadPlan, PublisherSpec } from '../plan.js'
import type { StreamFinal } from '../protocol.js'
import { connectClient, connected, endClient } from './connect.js'
import type { Counters } from './counters.js'
import { encode } from './payload.js'

/**
 * Publishes one stream (one topic, one QoS) at a fixed rate. Bounded: with
 * `maxOutstanding` publishes not yet acknowledged (QoS 1/2) or written
 * (QoS 0) it skips instead of queueing, so a stalled broker shows up as
 * "skipped" rather than as memory growth in the generator.
 */
export class Publisher {
  #client: MqttClient | undefined
  #sent = 0
  #credit = 0
  readonly #outstanding = new Set<number>()

  constructor (readonly spec: PublisherSpec, private readonly plan: LoadPlan, private readonly counters: Counters) {}

  get outstanding (): number { return this.#outstanding.size }

  async start (): Promise<void> {
    const client = connectClient(this.plan.urls, this.spec.transport, { clientId: this.spec.id, clean: true, reconnectPeriod: 1000 })
    client.on('error', (err) => this.counters.error('publisher', err))
    client.on('offline', () => { if (this.#client) this.counters.disconnectedUnexpectedly() })
    await connected(client)
    this.#client = client
  }

  /** Called by the generator's pacing timer with the elapsed ms. */
  tick (elapsedMs: number): void {
    const client = this.#client
    if (!client) return
    this.#credit = Math.min(this.#credit + this.spec.ratePerSec * elapsedMs / 1000, this.spec.ratePerSec) // at most 1 s of catch-up
    const q = this.spec.qos
    while (this.#credit >= 1) {
      this.#credit--
      if (this.#outstanding.size >= this.plan.maxOutstanding) {
        this.counters.skipped++
        continue
      }
      const seq = this.#sent++
      this.#outstanding.add(seq)
      this.counters.published[q]++
      client.publish(this.spec.topic, encode(seq, this.spec.payloadBytes), { qos: q }, (err) => {
        // An error leaves the seq outstanding: it was never accepted, so no subscriber owes it.
        if (err) return
        this.#outstanding.delete(seq)
        this.counters.accepted[q]++
      })
    }
  }

  final (): StreamFinal {
    return { topic: this.spec.topic, qos: this.spec.qos, sent: this.#sent, unacked: [...this.#outstanding].sort((a, b) => a - b) }
  }

  async close (): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client) await endClient(client)
  }
}
