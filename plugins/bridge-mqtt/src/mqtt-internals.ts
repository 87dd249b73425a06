import type { MqttClient } from 'mqtt'

/**
 * The two places the bridge reaches into mqtt.js, kept in this one module.
 * mqtt.js has no option for either; both are covered by tests against
 * embedmq and Mosquitto, so an mqtt.js upgrade that moves them fails the
 * tests instead of silently looping or losing messages.
 */

type Packet = { cmd: string, messageId?: number }
type Send = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void

function internalsOf (client: MqttClient, method: '_writePacket' | '_sendPacket'): Send {
  const fn = (client as unknown as Record<string, unknown>)[method]
  if (typeof fn !== 'function') throw new Error(`this mqtt.js version has no ${method}; @embedmq/bridge-mqtt needs mqtt 5.x`)
  return fn as Send
}

/**
 * Makes a client (created with `manualConnect: true`) send its CONNECT with
 * the bridge bit (protocol level 0x84, Mosquitto's try_private), which
 * mqtt-packet writes when the packet says `bridgeMode`.
 */
export function sendConnectInBridgeMode (client: MqttClient): void {
  const write = internalsOf(client, '_writePacket')
  ;(client as unknown as Record<string, Send>)._writePacket = function (packet, cb, ...rest) {
    write.call(client, packet.cmd === 'connect' ? { ...packet, bridgeMode: true } as Packet : packet, cb, ...rest)
  }
}

/**
 * Lets the owner decide when a received QoS 1 message is acknowledged.
 * mqtt.js acknowledges as soon as `handleMessage` calls back, and handles
 * packets one at a time; the bridge wants many messages in flight to the
 * remote, each acknowledged here only once the remote acknowledged it. So
 * `handleMessage` calls back at once, and the PUBACK it triggers waits here
 * until `release(messageId)` — while mqtt.js goes on with the next packets
 * (holding up its packet loop would also hold up the acknowledgements of the
 * bridge's own publishes, and the two directions could wait on each other).
 */
export class HeldPubacks {
  readonly #waiting = new Map<number, { released: boolean, send?: () => void }>()
  readonly #client: MqttClient

  constructor (client: MqttClient) {
    this.#client = client
    const send = internalsOf(client, '_sendPacket')
    ;(client as unknown as Record<string, Send>)._sendPacket = (packet, cb, ...rest) => {
      const entry = packet.cmd === 'puback' && packet.messageId !== undefined ? this.#waiting.get(packet.messageId) : undefined
      if (entry === undefined || entry.released) {
        if (entry) this.#waiting.delete(packet.messageId!)
        send.call(client, packet, cb, ...rest)
        return
      }
      entry.send = () => { if (client.connected) send.call(client, packet, undefined, ...rest) }
      cb?.()
    }
  }

  /** Call before handing the message's callback back to mqtt.js. */
  hold (messageId: number): void {
    this.#waiting.set(messageId, { released: false })
  }

  /** The remote acknowledged: send the local PUBACK now (or as soon as mqtt.js asks to). */
  release (messageId: number): void {
    const entry = this.#waiting.get(messageId)
    if (!entry) return
    if (entry.send) {
      this.#waiting.delete(messageId)
      entry.send()
    } else {
      entry.released = true
    }
  }

  get size (): number { return this.#waiting.size }

  get client (): MqttClient { return this.#client }
}
