import mqtt from 'mqtt'

/** Connects with mqtt.js, without retrying, failing within 5 s. */
export function connect (url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
}

/** Connects once and resolves to the CONNACK return code (0 when accepted); the client is closed either way. */
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
      client.once('close', () => reject(new Error('connection closed before CONNACK')))
    })
  } finally {
    client.end(true)
  }
}

/** Subscribes and resolves to the SUBACK return codes (0–2 granted QoS, 128 refused), refusals included. */
export async function subackCodes (client: mqtt.MqttClient, filters: string[], qos: 0 | 1 | 2 = 0): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos })).map(g => g.qos)
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted
    if (granted) return granted
    throw err
  }
}

export interface Received { topic: string, payload: string }

/** Collects the next `count` messages on a client, or fails after `ms` saying what did arrive. */
export function collect (client: mqtt.MqttClient, count: number, ms = 5000): Promise<Received[]> {
  const got: Received[] = []
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

/** Resolves once `check()` is true, polling every 10 ms; rejects naming `what` after `ms`. */
export async function eventually (check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
