import net from 'node:net'
import { generate, parser, type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet'
import { WebSocket } from 'ws'
import type { TestBroker, Transport } from './broker.js'
import { defer } from './cleanup.js'
import { uniqueId } from './mqtt-client.js'
import { WAIT_MS, within } from './wait.js'

/**
 * A connection that speaks MQTT byte by byte (mqtt-packet for encoding and
 * decoding, nothing else), for what a well-behaved client library will not
 * send: malformed bytes, forbidden CONNECTs, oversized or truncated packets.
 */
export interface RawConnection {
  readonly transport: Transport
  /** Encodes and sends one packet (over WebSocket: as one binary frame). */
  send (packet: Packet): void
  /** Sends bytes as they are (over WebSocket: as one binary frame). */
  write (bytes: Buffer): void
  /** The next packet the broker sends; rejects if the connection closes first or after `ms`. */
  nextPacket (what: string, ms?: number): Promise<Packet>
  /** Resolves when the connection has closed, however it closed. */
  readonly closed: Promise<void>
  readonly isClosed: boolean
  /** Packets received and not yet taken by nextPacket. */
  readonly unread: Packet[]
  /** Closes our side. */
  destroy (): void
}

export interface RawWebSocket extends RawConnection {
  /** Sends a text frame. */
  writeText (text: string): void
  /** The WebSocket close code received (undefined until closed, 1006 for an abrupt end). */
  readonly closeCode: number | undefined
}

class PacketQueue {
  readonly unread: Packet[] = []
  readonly #parser = parser({ protocolVersion: 4 })
  #wake: (() => void) | undefined
  isClosed = false
  parseError: Error | undefined

  constructor () {
    this.#parser.on('packet', (packet: Packet) => { this.unread.push(packet); this.#wake?.() })
    this.#parser.on('error', (err: Error) => { this.parseError = err; this.#wake?.() })
  }

  feed (bytes: Buffer): void { this.#parser.parse(bytes) }

  ended (): void { this.isClosed = true; this.#wake?.() }

  async next (label: string, what: string, ms: number): Promise<Packet> {
    const ready = (): boolean => this.unread.length > 0 || this.isClosed || this.parseError !== undefined
    if (!ready()) {
      await within(new Promise<void>((resolve) => { this.#wake = () => { if (ready()) resolve() } }), `${what} on ${label}`, ms)
        .finally(() => { this.#wake = undefined })
    }
    const packet = this.unread.shift()
    if (packet) return packet
    if (this.parseError) throw new Error(`${label}: could not parse what the broker sent: ${this.parseError.message}`)
    throw new Error(`${label}: the connection closed while waiting for ${what}`)
  }
}

/** Opens a raw TCP connection to 127.0.0.1:port. */
export async function openRawTcp (port: number): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port })
  defer(`destroy raw tcp socket to port ${port}`, () => socket.destroy())
  const queue = new PacketQueue()
  const closed = new Promise<void>(resolve => socket.once('close', () => { queue.ended(); resolve() }))
  socket.on('error', () => undefined) // a reset by the broker shows as 'close'
  socket.on('data', (bytes: Buffer) => queue.feed(bytes))
  await within(new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('close', () => reject(new Error(`raw tcp connection to port ${port} closed before it opened`)))
  }), `raw tcp connection to port ${port}`)
  const label = `raw tcp connection to port ${port}`
  return {
    transport: 'tcp',
    send: (packet) => { socket.write(generate(packet)) },
    write: (bytes) => { socket.write(bytes) },
    nextPacket: (what, ms = WAIT_MS) => queue.next(label, what, ms),
    closed,
    get isClosed () { return queue.isClosed },
    unread: queue.unread,
    destroy: () => socket.destroy()
  }
}

/** Opens a raw WebSocket (sub-protocol "mqtt") to `url`. */
export async function openRawWs (url: string): Promise<RawWebSocket> {
  const ws = new WebSocket(url, 'mqtt')
  defer(`terminate raw websocket to ${url}`, () => ws.terminate())
  const queue = new PacketQueue()
  let closeCode: number | undefined
  const closed = new Promise<void>(resolve => ws.once('close', (code: number) => { closeCode = code; queue.ended(); resolve() }))
  ws.on('error', () => undefined) // shows as 'close'
  ws.on('message', (data: Buffer, isBinary: boolean) => { if (isBinary) queue.feed(data) })
  await within(new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('close', () => reject(new Error(`raw websocket to ${url} closed before it opened`)))
  }), `raw websocket to ${url}`)
  const label = `raw websocket to ${url}`
  return {
    transport: 'ws',
    send: (packet) => { ws.send(generate(packet), { binary: true }) },
    write: (bytes) => { ws.send(bytes, { binary: true }) },
    writeText: (text) => { ws.send(text, { binary: false }) },
    nextPacket: (what, ms = WAIT_MS) => queue.next(label, what, ms),
    closed,
    get isClosed () { return queue.isClosed },
    get closeCode () { return closeCode },
    unread: queue.unread,
    destroy: () => ws.terminate()
  }
}

/** Opens a raw connection to a test broker's listener for `transport`. */
export function openRaw (tb: TestBroker, transport: Transport): Promise<RawConnection> {
  return transport === 'tcp' ? openRawTcp(tb.port('tcp')) : openRawWs(tb.url('ws'))
}

/** A CONNECT packet (MQTT 3.1.1), clean session and a fresh client id unless overridden. */
export function connectPacket (fields: Partial<Omit<IConnectPacket, 'cmd'>> = {}): IConnectPacket {
  return { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: uniqueId('raw'), ...fields }
}

/**
 * Encodes a CONNECT. mqtt-packet refuses to encode a zero-byte client id with
 * CleanSession=0 (a client library must not send one), so that one is encoded
 * with CleanSession=1 and the flag cleared in the bytes: exactly what a
 * non-conforming client would put on the wire.
 */
export function connectBytes (fields: Partial<Omit<IConnectPacket, 'cmd'>> = {}): Buffer {
  const packet = connectPacket(fields)
  if (packet.clientId !== '' || packet.clean !== false) return generate(packet)
  const bytes = generate({ ...packet, clean: true })
  let i = 1
  while ((bytes[i]! & 0x80) !== 0) i++ // remaining length
  const flags = i + 1 + 6 + 1 // after the remaining length: protocol name (2 + 4 bytes "MQTT") and level
  if (bytes.toString('latin1', i + 3, i + 7) !== 'MQTT') throw new Error('unexpected CONNECT layout')
  bytes[flags] = bytes[flags]! & ~0x02 // CleanSession is bit 1 of the connect flags
  return bytes
}

/** Sends CONNECT and returns the CONNACK; rejects if something else (or nothing) comes back. */
export async function rawConnect (conn: RawConnection, fields: Partial<Omit<IConnectPacket, 'cmd'>> = {}): Promise<IConnackPacket> {
  conn.write(connectBytes(fields))
  const reply = await conn.nextPacket('CONNACK')
  if (reply.cmd !== 'connack') throw new Error(`expected CONNACK, got ${reply.cmd}`)
  return reply
}

/** Encodes an MQTT remaining length (variable byte integer). */
export function remainingLength (n: number): Buffer {
  const bytes: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    bytes.push(byte)
  } while (n > 0)
  return Buffer.from(bytes)
}

/** A QoS 0 PUBLISH to `topic` whose encoded size, fixed header included, is exactly `size` bytes. */
export function publishOfSize (topic: string, size: number): Buffer {
  const overhead = generate({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }).length
  for (let payload = Math.max(0, size - overhead - 4); payload <= size; payload++) {
    const bytes = generate({ cmd: 'publish', topic, payload: Buffer.alloc(payload, 0x61), qos: 0, retain: false, dup: false })
    if (bytes.length === size) return bytes
    if (bytes.length > size) break
  }
  throw new Error(`no PUBLISH to "${topic}" encodes to exactly ${size} bytes`)
}
