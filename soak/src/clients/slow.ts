import type { LoadPlan, SlowSpec } from '../plan.js'
import type { Counters } from './counters.js'
import { RawConnection } from './raw.js'

/**
 * A subscriber that stops reading its socket once subscribed (raw socket,
 * since mqtt.js would keep reading). 'stuck' stays frozen until the end;
 * 'hung' is replaced by a fresh frozen connection every `lifetimeMs`, whether
 * or not the broker has dropped it for its missed keepalive by then, so the
 * broker keeps having to let go of frozen clients with data queued.
 */
export class SlowClient {
  #conn: RawConnection | undefined
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #generation = 0
  cycles = 0

  constructor (readonly spec: SlowSpec, private readonly plan: LoadPlan, private readonly counters: Counters) {}

  get connected (): boolean { return this.#conn !== undefined && !this.#conn.closed }

  start (): void {
    this.#open().catch((err: unknown) => this.#retry(err))
  }

  async #open (): Promise<void> {
    const conn = await RawConnection.open(this.plan.urls[this.spec.transport], this.spec.transport)
    if (this.#stopped) { conn.destroy(); return }
    const clientId = `${this.spec.id}-${this.#generation++}`
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('slow client: no SUBACK')), 10_000)
      conn.onPacket((packet) => {
        if (packet.cmd === 'connack') {
          if (packet.returnCode !== 0) { clearTimeout(timer); reject(new Error(`slow client refused: ${packet.returnCode ?? '?'}`)); return }
          conn.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: this.spec.filter, qos: this.spec.qos }] })
        } else if (packet.cmd === 'suback') {
          clearTimeout(timer)
          resolve()
        }
      })
      conn.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: this.spec.keepaliveSec })
    }).catch((err: unknown) => { conn.destroy(); throw err })
    conn.freeze()
    this.#conn = conn
    if (this.spec.mode === 'hung') {
      this.#timer = setTimeout(() => {
        this.cycles++
        conn.destroy()
        this.#conn = undefined
        this.start()
      }, this.spec.lifetimeMs)
    }
  }

  #retry (err: unknown): void {
    this.counters.error('slow client', err)
    if (!this.#stopped) this.#timer = setTimeout(() => this.start(), 2_000)
  }

  close (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#conn?.destroy()
    this.#conn = undefined
  }
}
