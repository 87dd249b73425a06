import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { generate, parser, type Packet } from 'mqtt-packet'
import type { Transport } from '../plan.js'

/**
 * A raw MQTT connection over TCP or WebSocket, for clients that must
 * misbehave in ways mqtt.js won't: here, stop reading the socket. The
 * WebSocket side is a minimal RFC 6455 client (handshake, masked binary
 * frames out, unmasked frames in) because `ws` is not a dependency here.
 */
export class RawConnection {
  readonly #socket: net.Socket
  readonly #transport: Transport
  readonly #parser = parser({ protocolVersion: 4 })
  #wsBuffer: Buffer = Buffer.alloc(0)
  #closed = false

  private constructor (socket: net.Socket, transport: Transport, leftover: Buffer) {
    this.#socket = socket
    this.#transport = transport
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', () => undefined) // resets are expected for a client that stops reading
    socket.on('close', () => { this.#closed = true })
    if (leftover.length > 0) this.#onData(leftover)
    socket.resume() // the handshake paused it; a 'data' listener alone does not undo an explicit pause()
  }

  /** Opens the socket (and the WebSocket handshake, for 'ws'). */
  static async open (url: string, transport: Transport, timeoutMs = 10_000): Promise<RawConnection> {
    const u = new URL(url)
    const socket = net.connect({ host: u.hostname, port: Number(u.port) })
    socket.setNoDelay(true)
    const timer = setTimeout(() => socket.destroy(new Error('raw connect timeout')), timeoutMs)
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
      let leftover: Buffer = Buffer.alloc(0)
      if (transport === 'ws') leftover = await handshake(socket, u)
      return new RawConnection(socket, transport, leftover)
    } catch (err) {
      socket.destroy()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  get closed (): boolean { return this.#closed }

  onPacket (handler: (packet: Packet) => void): void {
    this.#parser.on('packet', handler)
  }

  send (packet: Packet): void {
    const bytes = generate(packet, { protocolVersion: 4 })
    this.#socket.write(this.#transport === 'ws' ? maskedFrame(bytes) : bytes)
  }

  /** Stops reading: the kernel buffers fill, then the broker's writes to this client back up. */
  freeze (): void {
    this.#socket.pause()
  }

  destroy (): void {
    this.#socket.destroy()
  }

  #onData (chunk: Buffer): void {
    if (this.#transport === 'tcp') {
      this.#parser.parse(chunk)
      return
    }
    this.#wsBuffer = this.#wsBuffer.length === 0 ? chunk : Buffer.concat([this.#wsBuffer, chunk])
    for (;;) {
      const frame = readFrame(this.#wsBuffer)
      if (!frame) return
      this.#wsBuffer = this.#wsBuffer.subarray(frame.size)
      if (frame.opcode === 0 || frame.opcode === 2) this.#parser.parse(frame.payload)
      else if (frame.opcode === 8) this.#socket.destroy()
    }
  }
}

async function handshake (socket: net.Socket, url: URL): Promise<Buffer> {
  const key = randomBytes(16).toString('base64')
  socket.write([
    `GET ${url.pathname || '/'} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: mqtt', '', ''
  ].join('\r\n'))
  let buf = Buffer.alloc(0)
  return new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      socket.off('data', onData)
      socket.off('error', reject)
      socket.pause()
      const head = buf.subarray(0, end).toString('latin1')
      if (!/^HTTP\/1\.1 101/.test(head)) reject(new Error(`WebSocket upgrade refused: ${head.split('\r\n')[0] ?? ''}`))
      else resolve(buf.subarray(end + 4))
    }
    socket.on('data', onData)
    socket.once('error', reject)
  })
}

function maskedFrame (payload: Buffer): Buffer {
  const n = payload.length
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10
  const frame = Buffer.alloc(head + 4 + n)
  frame[0] = 0x82 // FIN + binary
  if (n < 126) {
    frame[1] = 0x80 | n
  } else if (n < 65536) {
    frame[1] = 0x80 | 126
    frame.writeUInt16BE(n, 2)
  } else {
    frame[1] = 0x80 | 127
    frame.writeBigUInt64BE(BigInt(n), 2)
  }
  const mask = randomBytes(4)
  mask.copy(frame, head)
  for (let i = 0; i < n; i++) frame[head + 4 + i] = payload[i]! ^ mask[i & 3]!
  return frame
}

function readFrame (buf: Buffer): { opcode: number, payload: Buffer, size: number } | undefined {
  if (buf.length < 2) return undefined
  const opcode = buf[0]! & 0x0f
  let len = buf[1]! & 0x7f
  let offset = 2
  if (len === 126) {
    if (buf.length < 4) return undefined
    len = buf.readUInt16BE(2)
    offset = 4
  } else if (len === 127) {
    if (buf.length < 10) return undefined
    len = Number(buf.readBigUInt64BE(2))
    offset = 10
  }
  if (buf.length < offset + len) return undefined
  return { opcode, payload: buf.subarray(offset, offset + len), size: offset + len }
}
