import type { MqttClient } from 'mqtt'
import type { FlapperSpec, LoadPlan } from '../plan.js'
import type { SeededRandom } from '@embedmq/testing'
import { connectClient, connected, endClient } from './connect.js'
import type { Counters } from './counters.js'

/** Where wills go: outside soak/#, so they never mix with the streams being accounted. */
export const WILL_ROOT = 'soak-will'

/**
 * Connects, maybe subscribes to a QoS 0 stream and publishes a message,
 * stays a moment, leaves (sometimes by dropping the socket, which fires its
 * will), pauses, repeats. Each cycle uses a fresh client id, so every will is
 * attributable and no takeover muddies the count.
 */
export class Flapper {
  #client: MqttClient | undefined
  #timer: NodeJS.Timeout | undefined
  #running = false
  cycles = 0
  willsExpected = 0

  constructor (readonly spec: FlapperSpec, private readonly plan: LoadPlan, private readonly counters: Counters, private readonly rng: SeededRandom) {}

  start (): void {
    this.#running = true
    // Spread the first connects: all flappers at once would be a connect storm, not flapping.
    this.#later([0, this.spec.dwellMs[1]])
  }

  async #cycle (): Promise<void> {
    if (!this.#running) return
    const clientId = `${this.spec.id}-${this.cycles++}`
    const client = connectClient(this.plan.urls, this.spec.transport, {
      clientId,
      clean: true,
      reconnectPeriod: 0,
      keepalive: 10,
      ...(this.spec.will ? { will: { topic: `${WILL_ROOT}/g${this.plan.generator}/${clientId}`, payload: Buffer.from('gone'), qos: 1, retain: false } } : {})
    })
    client.on('error', () => undefined) // abrupt ends produce errors by design
    this.#client = client
    try {
      await connected(client)
      if (!this.#running) return // close() ended it meanwhile
      this.counters.flapConnects++
      if (this.spec.subscribeTopic !== undefined) client.subscribe(this.spec.subscribeTopic, { qos: 0 })
      client.publish(`soak-flap/${clientId}`, 'hello', { qos: 1 })
    } catch (err) {
      this.counters.error('flapper connect', err)
      client.end(true)
      this.#client = undefined
      this.#later(this.spec.pauseMs)
      return
    }
    this.#timer = setTimeout(() => { this.#leave(client) }, this.rng.between(this.spec.dwellMs[0], this.spec.dwellMs[1]))
  }

  #leave (client: MqttClient): void {
    this.#client = undefined
    if (this.rng.chance(this.spec.abruptShare)) {
      if (this.spec.will) this.willsExpected++
      client.stream?.destroy()
      client.end(true)
    } else {
      endClient(client).catch(() => undefined)
    }
    this.#later(this.spec.pauseMs)
  }

  #later (range: [number, number]): void {
    if (!this.#running) return
    this.#timer = setTimeout(() => { this.#cycle().catch((err: unknown) => this.counters.error('flapper', err)) }, this.rng.between(range[0], range[1]))
  }

  /** Stops flapping; a connected client leaves gracefully (no will). */
  async close (): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    if (client) await endClient(client, 1_000)
  }
}
