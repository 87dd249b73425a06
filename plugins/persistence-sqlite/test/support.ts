import { tempDirs as makeTempDirs, type TempDirs } from '@embedmq/testing'
import mqtt from 'mqtt'
import type { Received } from '@embedmq/testing'

/** Temporary directories for one test file (see @embedmq/testing). */
export const tempDirs = (): TempDirs => makeTempDirs('embedmq-sqlite-')

/** A client that records every message from the first byte on: queued messages arrive right after CONNACK. */
export interface RecordingClient {
  readonly client: mqtt.MqttClient
  readonly received: Received[]
  readonly sessionPresent: boolean
}

export function connectRecording (url: string, options: mqtt.IClientOptions): Promise<RecordingClient> {
  return new Promise((resolve, reject) => {
    const received: Received[] = []
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
    client.on('message', (topic, payload) => { received.push({ topic, payload: payload.toString() }) })
    client.once('connect', (connack) => { resolve({ client, received, sessionPresent: connack.sessionPresent }) })
    client.once('error', (err) => { client.end(true); reject(err) })
  })
}

/** Publishes `payloads` one by one at QoS 1, each awaiting its PUBACK. */
export async function publishAcked (client: mqtt.MqttClient, topic: string, payloads: readonly string[], retain = false): Promise<void> {
  for (const payload of payloads) await client.publishAsync(topic, payload, { qos: 1, retain })
}

export function range (n: number, prefix = 'm'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`)
}
