import { randomUUID } from 'node:crypto'
import { connect, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt'
import { defer } from './cleanup.js'
import { WAIT_MS, within } from './wait.js'

export type QoS = 0 | 1 | 2

/** A message as a test client received it. */
export interface Received {
  topic: string
  payload: string
  qos: QoS
  retain: boolean
}

/**
 * Every message a client receives, in arrival order, with bounded waits.
 * It is attached before the client connects, so messages a broker sends right
 * after CONNACK (a persistent session's queue, retained messages) are kept.
 */
export class Inbox {
  readonly messages: Received[] = []
  readonly #waiters = new Set<() => void>()

  constructor (private readonly label: string, client: MqttClient) {
    client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      this.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain })
      for (const wake of this.#waiters) wake()
    })
  }

  /** Messages whose topic is `topic` (all when left out). */
  on (topic?: string): Received[] {
    return topic === undefined ? [...this.messages] : this.messages.filter(m => m.topic === topic)
  }

  /**
   * Resolves with the first `count` messages on `topic` (any topic when left
   * out) once they have arrived; rejects after `ms` listing what did arrive.
   */
  async waitFor (count: number, topic?: string, ms = WAIT_MS): Promise<Received[]> {
    const enough = (): boolean => this.on(topic).length >= count
    if (!enough()) {
      let wake: (() => void) | undefined
      try {
        await within(new Promise<void>((resolve) => {
          wake = () => { if (enough()) resolve() }
          this.#waiters.add(wake)
        }), `${count} message(s)${topic === undefined ? '' : ` on "${topic}"`} at ${this.label}`, ms)
      } catch (err) {
        throw new Error(`${(err as Error).message}; received ${this.messages.length}: ${JSON.stringify(this.messages)}`, { cause: err })
      } finally {
        if (wake) this.#waiters.delete(wake)
      }
    }
    return this.on(topic).slice(0, count)
  }
}

export interface TestClient {
  client: MqttClient
  id: string
  inbox: Inbox
  connack: IConnackPacket
  /** Errors the client emitted (kept so an unhandled 'error' never crashes the run). */
  errors: Error[]
  /** Resolves when the connection closes (any way: DISCONNECT, broker close, destroyed socket). */
  closed: Promise<void>
}

/** A client id that is unique across the run, readable in logs. */
export function uniqueId (prefix = 'client'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/**
 * Connects an mqtt.js client (MQTT 3.1.1, no automatic reconnect) and waits
 * for its CONNACK. Rejects if the connection closes or fails first. The
 * client is ended after the test.
 */
export async function connectClient (url: string, options: IClientOptions = {}): Promise<TestClient> {
  const id = options.clientId ?? uniqueId()
  const client = connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    ...options,
    clientId: id
  })
  defer(`end mqtt.js client ${id}`, () => new Promise<void>(resolve => client.end(true, {}, () => resolve())))
  const errors: Error[] = []
  client.on('error', (err) => errors.push(err))
  const inbox = new Inbox(id, client)
  const closed = new Promise<void>(resolve => client.once('close', () => resolve()))
  const connack = await within(new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('close', () => reject(new Error(`client ${id} to ${url}: connection closed before CONNACK${errors.length > 0 ? ` (${errors.map(e => e.message).join('; ')})` : ''}`)))
  }), `CONNACK for client ${id} from ${url}`)
  return { client, id, inbox, connack, errors, closed }
}
