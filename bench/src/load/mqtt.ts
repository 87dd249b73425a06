/**
 * The generator's MQTT 3.1.1 codec: mqtt-packet builds every outbound packet
 * and decodes the rare control packets (CONNACK, SUBACK); the hot inbound
 * packets (PUBLISH, PUBACK) are only framed and read in place.
 *
 * Why not mqtt-packet's parser for everything: it allocates a packet object
 * per message (~1 µs each, measured ~1 M packets/s on one core), so at
 * 200k+ deliveries/s it would make the generator a visible part of what is
 * measured. Splitting frames by the remaining-length header is ~100× cheaper.
 */
import { generate, parser, type Packet, type QoS } from 'mqtt-packet'

export const PUBLISH = 3
export const PUBACK = 4

/** `clean: false` asks for a persistent session (MQTT 3.1.1 CleanSession = 0). */
export function connectPacket (clientId: string, username: string, password: string, keepalive: number, clean = true): Buffer {
  return generate({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, keepalive,
    clientId, username, password: Buffer.from(password)
  })
}

export function subscribePacket (messageId: number, topic: string, qos: QoS): Buffer {
  return generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] })
}

export function publishPacket (topic: string, payload: Buffer, qos: QoS, messageId?: number): Buffer {
  return generate({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 ? { messageId: messageId ?? 1 } : {}) })
}

/** DISCONNECT: a normal end of the connection (no will). */
export const DISCONNECT = Buffer.from([0xe0, 0x00])

export function pubackPacket (messageId: number): Buffer {
  return generate({ cmd: 'puback', messageId })
}

/** The same bytes as pubackPacket, without generate's per-call overhead: sent once per delivery in the QoS 1 scenario. */
export function puback (messageId: number): Buffer {
  return Buffer.from([PUBACK << 4, 2, messageId >> 8, messageId & 0xff])
}

/** Where a packet's variable header starts: after the fixed header byte and the 1–4 remaining-length bytes. */
export function bodyOffset (packet: Buffer): number {
  let i = 1
  while (i < 5 && (packet[i]! & 0x80) !== 0) i++
  return i + 1
}

/**
 * A QoS 1 PUBLISH template whose message id (and optionally a payload slice)
 * is rewritten per send; a copy per message, because the socket may still
 * hold the previous one.
 */
export class PublishTemplate {
  readonly #template: Buffer
  readonly #idOffset: number
  readonly payloadOffset: number

  constructor (topic: string, payloadBytes: number, qos: QoS) {
    this.#template = publishPacket(topic, Buffer.alloc(payloadBytes), qos, 1)
    const body = bodyOffset(this.#template)
    const topicLength = this.#template.readUInt16BE(body)
    this.#idOffset = body + 2 + topicLength
    this.payloadOffset = this.#idOffset + (qos > 0 ? 2 : 0)
  }

  /** A fresh packet; `messageId` is ignored for QoS 0 templates. */
  make (messageId = 0): Buffer {
    const packet = Buffer.from(this.#template)
    if (this.payloadOffset > this.#idOffset) packet.writeUInt16BE(messageId, this.#idOffset)
    return packet
  }
}

/** What a connection does with inbound packets. Offsets index into `buf`. */
export interface InboundHandler {
  /** PUBLISH: payload is buf[payloadStart, payloadEnd). messageId is 0 for QoS 0. */
  publish (buf: Buffer, payloadStart: number, payloadEnd: number, qos: number, messageId: number): void
  puback (messageId: number): void
  /** Any other packet, decoded by mqtt-packet. */
  control (packet: Packet): void
}

/**
 * Splits an MQTT byte stream into packets. Keeps at most one partial packet
 * between chunks; every loop iteration consumes at least two bytes, so it
 * ends after at most chunk.length/2 iterations.
 */
export class MqttFramer {
  #rest: Buffer | undefined
  readonly #control = parser()
  #controlError: Error | undefined
  readonly #handler: InboundHandler

  constructor (handler: InboundHandler) {
    this.#handler = handler
    this.#control.on('packet', (packet: Packet) => handler.control(packet))
    this.#control.on('error', (err: Error) => { this.#controlError = err })
  }

  /** Handles every complete packet in `chunk`; throws on bytes that are not MQTT. */
  push (chunk: Buffer): void {
    const buf = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk])
    this.#rest = undefined
    const n = buf.length
    let at = 0
    while (at + 2 <= n) {
      // Remaining length: 1–4 bytes, 7 bits each, little end first.
      let length = 0
      let multiplier = 1
      let i = at + 1
      let complete = false
      for (let k = 0; k < 4 && i < n; k++) {
        const byte = buf[i++]!
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) { complete = true; break }
      }
      if (!complete) {
        if (i - at > 4) throw new Error('malformed remaining length from broker')
        break
      }
      const end = i + length
      if (end > n) break
      this.#dispatch(buf, at, i, end)
      at = end
    }
    if (at < n) this.#rest = buf.subarray(at)
  }

  #dispatch (buf: Buffer, start: number, body: number, end: number): void {
    const header = buf[start]!
    const type = header >> 4
    if (type === PUBLISH) {
      const qos = (header >> 1) & 3
      let p = body + 2 + buf.readUInt16BE(body)
      let messageId = 0
      if (qos > 0) { messageId = buf.readUInt16BE(p); p += 2 }
      this.#handler.publish(buf, p, end, qos, messageId)
    } else if (type === PUBACK) {
      this.#handler.puback(buf.readUInt16BE(body))
    } else {
      // A whole packet: the parser emits it synchronously and keeps nothing.
      this.#control.parse(buf.subarray(start, end))
      if (this.#controlError) throw this.#controlError
    }
  }
}
