import type { Socket } from 'node:net'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Transport } from '../plan.js'

/** Common mqtt.js options: MQTT 3.1.1, no offline QoS 0 queue (a bounded generator drops instead). */
export function connectClient (urls: Record<Transport, string>, transport: Transport, options: IClientOptions): MqttClient {
  const client = mqtt.connect(urls[transport], {
    protocolVersion: 4,
    keepalive: 30,
    connectTimeout: 10_000,
    queueQoSZero: false,
    ...options
  })
  // mqtt.js leaves Nagle on for TCP (ws sets TCP_NODELAY itself); with it, small
  // packets wait for delayed ACKs and the client, not the broker, adds ~40 ms tails.
  if (transport === 'tcp') client.on('connect', () => { (client.stream as Partial<Socket>).setNoDelay?.(true) })
  return client
}

/** Resolves on the first CONNACK, rejects on an error or close before it. */
export function connected (client: MqttClient, timeoutMs = 15_000): Promise<{ sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error('CONNACK timeout')) }, timeoutMs)
    const onConnect = (packet: { sessionPresent: boolean }): void => { cleanup(); resolve({ sessionPresent: packet.sessionPresent }) }
    const onError = (err: Error): void => { cleanup(); reject(err) }
    const onClose = (): void => { cleanup(); reject(new Error('closed before CONNACK')) }
    const cleanup = (): void => {
      clearTimeout(timer)
      client.off('connect', onConnect)
      client.off('error', onError)
      client.off('close', onClose)
    }
    client.once('connect', onConnect)
    client.once('error', onError)
    client.once('close', onClose)
  })
}

/** Ends a client gracefully, forcing it after `graceMs` (a stalled broker must not hold up shutdown). */
export function endClient (client: MqttClient, graceMs = 3_000): Promise<void> {
  return new Promise((resolve) => {
    // end(true) is a no-op once a graceful end is under way, so force by destroying the socket.
    const timer = setTimeout(() => { client.stream?.destroy(); resolve() }, graceMs)
    client.end(false, () => { clearTimeout(timer); resolve() })
  })
}
