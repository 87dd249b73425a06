import mqtt from 'mqtt'
import { createBroker, type Broker, type BrokerOptions, type Logger } from '../src/index.js'

export interface LogEntry { level: string, obj: Record<string, unknown>, msg: string }

/** A Logger that remembers what it was told, so tests can assert on log lines. */
export class RecordingLogger implements Logger {
  constructor (readonly entries: LogEntry[] = [], private readonly bindings: Record<string, unknown> = {}) {}
  #log (level: string, obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.entries.push({ level, obj: { ...this.bindings }, msg: obj })
    else this.entries.push({ level, obj: { ...this.bindings, ...obj as Record<string, unknown> }, msg: msg ?? '' })
  }

  trace (obj: object | string, msg?: string): void { this.#log('trace', obj, msg) }
  debug (obj: object | string, msg?: string): void { this.#log('debug', obj, msg) }
  info (obj: object | string, msg?: string): void { this.#log('info', obj, msg) }
  warn (obj: object | string, msg?: string): void { this.#log('warn', obj, msg) }
  error (obj: object | string, msg?: string): void { this.#log('error', obj, msg) }
  child (bindings: Record<string, unknown>): Logger { return new RecordingLogger(this.entries, { ...this.bindings, ...bindings }) }

  /** Lines at `level` whose message contains `text`. */
  find (level: string, text: string): LogEntry[] {
    return this.entries.filter(e => e.level === level && e.msg.includes(text))
  }
}

/** Starts a broker with one TCP listener on an ephemeral loopback port. */
export async function startBroker (options: BrokerOptions = {}): Promise<{ broker: Broker, url: string, log: RecordingLogger }> {
  const log = new RecordingLogger()
  const broker = createBroker({ logger: log, listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], ...options })
  await broker.start()
  return { broker, url: broker.addresses()[0]!.url, log }
}

/** Connects without retrying, and resolves to the CONNACK return code (0 on success). */
export async function connackCode (url: string, options: mqtt.IClientOptions = {}): Promise<number> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
  try {
    return await new Promise<number>((resolve, reject) => {
      client.once('connect', () => resolve(0))
      client.once('error', (err) => {
        const code = (err as { code?: unknown }).code
        if (typeof code === 'number') resolve(code)
        else reject(err)
      })
    })
  } finally {
    client.end(true)
  }
}

export async function connect (url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
}

/** Collects messages on a client until `count` arrived, or fails after `ms` naming what was missing. */
export function collect (client: mqtt.MqttClient, count: number, ms = 5000): Promise<Array<{ topic: string, payload: string }>> {
  const got: Array<{ topic: string, payload: string }> = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`expected ${count} messages, got ${got.length}: ${JSON.stringify(got)}`))
    }, ms)
    const onMessage = (topic: string, payload: Buffer): void => {
      got.push({ topic, payload: payload.toString() })
      if (got.length === count) {
        clearTimeout(timer)
        client.off('message', onMessage)
        resolve(got)
      }
    }
    client.on('message', onMessage)
  })
}

/** Resolves once `check` is true, polling; rejects with `what` after `ms`. */
export async function eventually (check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** Subscribes and resolves to the SUBACK return codes (0–2 granted QoS, 128 refused), refusals included. */
export async function subackCodes (client: mqtt.MqttClient, filters: string[], qos: 0 | 1 | 2 = 0): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos })
    return granted.map(g => g.qos)
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet
    if (packet?.granted) return packet.granted
    throw err
  }
}
