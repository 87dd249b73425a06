/**
 * A minimal RFC 6455 client for the generator: the HTTP upgrade, masked
 * binary frames out, a streaming de-framer in.
 *
 * Why not the `ws` client: it emits one 'message' per frame, and bare aedes
 * (ws.createWebSocketStream) sends ~5 frames per PUBLISH, so 50 subscribers
 * would cost the generator millions of events per second. Here frames are
 * parsed in a tight loop and their payloads handed on as one byte stream,
 * the same path TCP bytes take.
 */
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { Socket } from 'node:net'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const OP_CONTINUATION = 0x0
const OP_TEXT = 0x1
const OP_BINARY = 0x2
const OP_CLOSE = 0x8
const OP_PING = 0x9

/**
 * Opens a WebSocket (sub-protocol 'mqtt') and returns the raw socket plus any
 * bytes that followed the 101 response.
 */
export function openWebSocket (host: string, port: number, path: string, timeoutMs: number): Promise<{ socket: Socket, head: Buffer }> {
  const key = randomBytes(16).toString('base64')
  const expected = createHash('sha1').update(key + GUID).digest('base64')
  return new Promise((resolve, reject) => {
    const req = http.request({
      host, port, path, agent: false, timeout: timeoutMs,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Protocol': 'mqtt'
      }
    })
    req.once('upgrade', (res, socket, head) => {
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy()
        reject(new Error('WebSocket handshake: bad Sec-WebSocket-Accept'))
        return
      }
      resolve({ socket, head })
    })
    req.once('response', (res) => {
      res.resume()
      reject(new Error(`WebSocket handshake refused: HTTP ${res.statusCode ?? '?'}`))
    })
    req.once('timeout', () => req.destroy(new Error(`WebSocket handshake timed out after ${timeoutMs} ms`)))
    req.once('error', reject)
    req.end()
  })
}

/** xorshift32: masking keys need not be secret on loopback, only cheap. */
function makeKeySource (): () => number {
  let state = randomBytes(4).readUInt32LE(0) | 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state >>> 0
  }
}

/** Builds client frames: FIN + binary, masked (servers must refuse unmasked client frames). */
export class FrameWriter {
  readonly #nextKey = makeKeySource()

  /** One binary frame per packet, concatenated for a single socket write. */
  frames (packets: readonly Buffer[]): Buffer {
    let total = 0
    for (const p of packets) total += headerLength(p.length) + p.length
    const out = Buffer.allocUnsafe(total)
    let at = 0
    for (const p of packets) at = this.#writeFrame(out, at, p)
    return out
  }

  #writeFrame (out: Buffer, at: number, payload: Buffer): number {
    const n = payload.length
    out[at++] = 0x80 | OP_BINARY
    if (n < 126) {
      out[at++] = 0x80 | n
    } else if (n < 65_536) {
      out[at++] = 0x80 | 126
      out.writeUInt16BE(n, at)
      at += 2
    } else {
      out[at++] = 0x80 | 127
      out.writeUInt32BE(Math.floor(n / 2 ** 32), at)
      out.writeUInt32BE(n >>> 0, at + 4)
      at += 8
    }
    const key = this.#nextKey()
    out.writeUInt32BE(key, at)
    const mask = out.subarray(at, at + 4)
    at += 4
    for (let i = 0; i < n; i++) out[at + i] = payload[i]! ^ mask[i & 3]!
    return at + n
  }
}

function headerLength (payloadLength: number): number {
  return (payloadLength < 126 ? 2 : payloadLength < 65_536 ? 4 : 10) + 4
}

export interface DeframerEvents {
  /** Data-frame payload bytes, in order (frame boundaries are not MQTT boundaries). */
  data (chunk: Buffer): void
  /** A ping's payload; the caller answers with a pong. */
  ping (payload: Buffer): void
  close (): void
}

/**
 * Parses server frames (unmasked) as they stream in. Payload bytes are
 * passed on as soon as they arrive, so only a partial header (≤ 14 bytes)
 * is ever held between chunks.
 */
export class FrameReader {
  #rest: Buffer | undefined
  /** Payload bytes still to come for the current frame. */
  #remaining = 0
  #opcode = 0
  readonly #events: DeframerEvents

  constructor (events: DeframerEvents) {
    this.#events = events
  }

  push (chunk: Buffer): void {
    const buf = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk])
    this.#rest = undefined
    const n = buf.length
    const out: Buffer[] = []
    let at = 0
    // Each iteration consumes a header (≥ 2 bytes) or payload bytes, or stops.
    while (at < n) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, n - at)
        if (this.#opcode === OP_BINARY || this.#opcode === OP_TEXT) out.push(buf.subarray(at, at + take))
        this.#remaining -= take
        at += take
        continue
      }
      if (n - at < 2) break
      const b0 = buf[at]!
      const b1 = buf[at + 1]!
      let length = b1 & 0x7f
      let header = 2
      if (length === 126) header = 4
      else if (length === 127) header = 10
      const masked = (b1 & 0x80) !== 0
      if (masked) header += 4
      if (n - at < header) break
      if (length === 126) length = buf.readUInt16BE(at + 2)
      else if (length === 127) length = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6)
      if (masked) throw new Error('server sent a masked WebSocket frame')
      const opcode = b0 & 0x0f
      at += header
      if (opcode >= OP_CLOSE) {
        // Control frames are short and unfragmented; wait for the whole one.
        if (n - at < length) { at -= header; break }
        const payload = buf.subarray(at, at + length)
        at += length
        if (opcode === OP_CLOSE) this.#events.close()
        else if (opcode === OP_PING) this.#events.ping(payload)
        continue
      }
      if (opcode !== OP_CONTINUATION) this.#opcode = opcode
      this.#remaining = length
    }
    if (at < n) this.#rest = buf.subarray(at)
    if (out.length === 1) this.#events.data(out[0]!)
    else if (out.length > 1) this.#events.data(Buffer.concat(out))
  }
}

/** A pong frame answering a ping (control frames are masked like any client frame). */
export function pongFrame (payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(6 + payload.length)
  out[0] = 0x80 | 0xa
  out[1] = 0x80 | payload.length
  out.writeUInt32BE(0, 2)
  payload.copy(out, 6)
  return out
}
