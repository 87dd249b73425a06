import type { MqttClient } from 'mqtt'
import type { IdleSpec, LoadPlan, SubscriberSpec } from '../plan.js'
import { connectClient, connected, endClient } from './connect.js'
import type { Counters } from './counters.js'
import { decode, nowMs } from './payload.js'
import { Receipts } from './receipts.js'

/**
 * A well-behaved subscriber, connected all run: reads promptly, acks, and is
 * where delivery latency and QoS 1/2 loss are measured. Subscribed before any
 * publisher starts, so it is owed every acknowledged message on its filter.
 */
export class Subscriber {
  readonly receipts: Receipts
  #client: MqttClient | undefined

  constructor (readonly spec: SubscriberSpec, private readonly plan: LoadPlan, private readonly counters: Counters) {
    this.receipts = new Receipts(spec.id, spec.filter, spec.qos, 'always-on')
  }

  async start (): Promise<void> {
    const client = connectClient(this.plan.urls, this.spec.transport, { clientId: this.spec.id, clean: true, reconnectPeriod: 1000 })
    client.on('error', (err) => this.counters.error('subscriber', err))
    client.on('message', (topic, payload, packet) => {
      const m = decode(payload)
      if (!m) return
      this.counters.lastDeliveryAt = Date.now()
      if (!this.receipts.record(topic, m.seq)) return
      this.counters.delivered(this.spec.transport, packet.qos, nowMs() - m.sentAt)
    })
    await connected(client)
    await client.subscribeAsync(this.spec.filter, { qos: this.spec.qos })
    // Only now: a drop while the run is on loses this clean session's messages, which the accounting will show.
    client.on('offline', () => { if (this.#client) this.counters.disconnectedUnexpectedly() })
    this.#client = client
  }

  async close (): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client) await endClient(client)
  }
}

/** One of the many quiet devices: connected, subscribed to a topic nobody uses, pinging. */
export class IdleClient {
  #client: MqttClient | undefined

  constructor (readonly spec: IdleSpec, private readonly plan: LoadPlan, private readonly counters: Counters) {}

  async start (): Promise<void> {
    const client = connectClient(this.plan.urls, this.spec.transport, { clientId: this.spec.id, clean: true, keepalive: 15, reconnectPeriod: 1000 })
    client.on('error', (err) => this.counters.error('idle', err))
    await connected(client)
    await client.subscribeAsync(this.spec.filter, { qos: 1 })
    client.on('offline', () => { if (this.#client) this.counters.disconnectedUnexpectedly() })
    this.#client = client
  }

  async close (): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client) await endClient(client)
  }
}
