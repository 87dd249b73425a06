import { Store, type MqttClient } from 'mqtt'
import type { LoadPlan, PersistentSpec } from '../plan.js'
import type { SeededRandom } from '@embedmq/testing'
import { connectClient, connected, endClient } from './connect.js'
import type { Counters } from './counters.js'
import { decode } from './payload.js'
import { Receipts } from './receipts.js'

/**
 * A clean=false session that goes offline (DISCONNECT, or a dropped socket)
 * and comes back. The broker must queue its QoS 1/2 messages meanwhile and
 * hand them over on return, so its Receipts outlive each connection.
 *
 * mqtt.js keeps QoS 2 state (PUBREC sent, PUBREL awaited) in its stores; a
 * new connection must see the old stores, or a PUBREL arriving after the
 * reconnect would complete a message the app never saw. Hence one pair of
 * non-clean stores per session.
 */
export class PersistentSession {
  readonly receipts: Receipts
  readonly #incoming = new Store({ clean: false })
  readonly #outgoing = new Store({ clean: false })
  #client: MqttClient | undefined
  #timer: NodeJS.Timeout | undefined
  #connecting: Promise<void> | undefined
  #stopped = false
  #subscribed = false
  cycles = 0
  sessionsLost = 0

  constructor (readonly spec: PersistentSpec, private readonly plan: LoadPlan, private readonly counters: Counters, private readonly rng: SeededRandom) {
    this.receipts = new Receipts(spec.id, spec.filter, spec.qos, 'persistent')
  }

  get online (): boolean { return this.#client?.connected === true }

  /** First connection and subscription (before publishing starts). */
  async start (): Promise<void> {
    await this.#connectOnce()
  }

  /** One connection attempt at a time: settle() may arrive while a comeback is connecting. */
  #connectOnce (): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => { this.#connecting = undefined })
    return this.#connecting
  }

  /** Begins the offline/online cycle. */
  cycle (): void {
    this.#schedule(this.spec.onlineMs, () => this.#goOffline())
  }

  async #connect (): Promise<void> {
    const client = connectClient(this.plan.urls, this.spec.transport, {
      clientId: this.spec.id, clean: false, reconnectPeriod: 0, incomingStore: this.#incoming, outgoingStore: this.#outgoing
    })
    client.on('error', (err) => this.counters.error('persistent', err))
    client.on('message', (topic, payload) => {
      const m = decode(payload)
      if (!m) return
      this.counters.lastDeliveryAt = Date.now()
      if (this.receipts.record(topic, m.seq)) this.counters.persistentReceived++
    })
    try {
      const { sessionPresent } = await connected(client)
      if (!sessionPresent) {
        // The broker forgot this session: whatever it queued is gone. Resubscribe so the rest of the run still counts.
        if (this.#subscribed) this.sessionsLost++
        await client.subscribeAsync(this.spec.filter, { qos: this.spec.qos })
        this.#subscribed = true
      }
    } catch (err) {
      client.end(true)
      throw err
    }
    client.on('close', () => { if (this.#client === client) this.counters.disconnectedUnexpectedly() })
    this.#client = client
  }

  #goOffline (): void {
    const client = this.#client
    this.#client = undefined
    if (!client) return
    this.cycles++
    if (this.rng.chance(this.spec.abruptShare)) {
      client.stream?.destroy()
      client.end(true)
    } else {
      endClient(client).catch((err: unknown) => this.counters.error('persistent end', err))
    }
    this.#schedule(this.spec.offlineMs, () => { this.#comeBack() })
  }

  #comeBack (): void {
    this.#connectOnce().then(
      () => this.#schedule(this.spec.onlineMs, () => this.#goOffline()),
      (err: unknown) => {
        this.counters.error('persistent reconnect', err)
        this.#schedule([1000, 1000], () => this.#comeBack())
      })
  }

  #schedule (range: [number, number], fn: () => void): void {
    if (this.#stopped) return
    this.#timer = setTimeout(fn, this.rng.between(range[0], range[1]))
  }

  /** Stops cycling and makes sure the session is online, so its queue can be delivered before accounting. */
  async settle (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#connecting?.catch(() => undefined)
    for (let attempt = 0; attempt < 5 && !this.#client; attempt++) {
      try {
        await this.#connectOnce()
      } catch (err) {
        this.counters.error('persistent settle', err)
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    }
  }

  async close (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    if (client) await endClient(client)
  }
}
