import { Duplex } from 'node:stream'
import type { WebSocket, RawData } from 'ws'
import type { InboundGuard } from '../edge/inbound-guard.js'

/**
 * A lean Duplex over one `ws` WebSocket, for handing MQTT-over-WebSocket
 * connections to the broker core.
 *
 * Why not `ws.createWebSocketStream`: it sends every `write()` as its own
 * frame, and the MQTT packet writer makes several writes per packet (header,
 * length, topic, payload), so a PUBLISH became ~5 frames. Here everything
 * written in one tick arrives in `_writev` (the packet writer corks the
 * stream until the next tick) and leaves as ONE binary frame; MQTT 3.1.1 §6
 * allows several packets, or parts of one, per frame. Throughput then tracks TCP.
 *
 * Backpressure both ways: reading pauses the WebSocket when the consumer is
 * behind; writing holds the callback while the socket's buffer is above the
 * high-water mark, so `write()` returns false and the broker waits for drain.
 */
export class WebSocketDuplex extends Duplex {
  readonly #ws: WebSocket
  readonly #guard: Pick<InboundGuard, 'inspect' | 'throttleMs' | 'takeCut'> | undefined
  #throttled = false

  constructor (ws: WebSocket, options: { highWaterMark?: number, maxPacketSize?: number, guard?: Pick<InboundGuard, 'inspect' | 'throttleMs' | 'takeCut'> } = {}) {
    // Reads are kept small (16 KiB): the broker parses whatever one read() returns in one go,
    // and bigger batches measured slower (aedes queues the excess). Writes may buffer more.
    super({ allowHalfOpen: false, readableHighWaterMark: 16 * 1024, writableHighWaterMark: options.highWaterMark ?? 64 * 1024 })
    this.#ws = ws
    this.#guard = options.guard
    ws.on('message', this.#onMessage)
    ws.once('close', () => {
      this.push(null)
      if (!this.destroyed) this.destroy()
    })
    ws.on('error', (err: Error & { code?: string }) => {
      // ws refuses an over-long frame itself, before our guard sees it; say what limit that was.
      this.destroy(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && options.maxPacketSize !== undefined
        ? new Error(`WebSocket frame larger than the maximum packet size of ${options.maxPacketSize} bytes (ws does not report its length)`)
        : err)
    })
  }

  readonly #onMessage = (data: RawData, isBinary: boolean): void => {
    if (!isBinary) {
      // MQTT-6.0.0-1: control packets in text frames close the connection.
      this.#ws.close(1003, 'MQTT needs binary frames')
      this.destroy(new Error('text WebSocket frame received; MQTT over WebSocket needs binary frames'))
      return
    }
    this.#admit(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data))
  }

  /** Inspects and hands on bytes; over the rate, holds the rest back and stops reading for a while. */
  #admit (buf: Buffer): void {
    const guard = this.#guard
    const violation = guard?.inspect(buf)
    if (violation !== undefined) {
      this.destroy(new Error(violation))
      return
    }
    const cut = guard?.takeCut()
    const now = cut === undefined ? buf : buf.subarray(0, cut)
    const later = cut === undefined ? undefined : buf.subarray(cut)
    if (now.length > 0 && !this.push(now)) this.#ws.pause()
    const wait = guard?.throttleMs() ?? 0
    if (wait > 0 || later) {
      // Over its rate: stop reading this client's socket for a while (TCP backpressure on it alone).
      this.#ws.pause()
      this.#throttled = true
      setTimeout(() => {
        this.#throttled = false
        if (this.destroyed) return
        if (later) this.#admit(later)
        if (!this.#throttled) this.#ws.resume()
      }, Math.max(wait, 1)).unref()
    }
  }

  override _read (): void {
    if (!this.#throttled) this.#ws.resume()
  }

  /** Bytes `ws` holds that the socket has not taken yet (read by the outbound limiter). */
  get bufferedAmount (): number {
    return this.#ws.bufferedAmount
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk, callback)
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map(c => c.chunk)), callback)
  }

  #send (data: Buffer, callback: (error?: Error | null) => void): void {
    const ws = this.#ws
    if (ws.readyState !== ws.OPEN) {
      // The peer is gone (an ordinary end, e.g. a client that closed mid-delivery): say so in the code.
      callback(Object.assign(new Error('WebSocket is not open'), { code: 'ERR_STREAM_DESTROYED' }))
      return
    }
    const waitForFlush = ws.bufferedAmount + data.length > this.writableHighWaterMark
    ws.send(data, { binary: true }, waitForFlush ? callback : (err) => { if (err) this.destroy(err) })
    if (!waitForFlush) callback()
  }

  override _final (callback: (error?: Error | null) => void): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(1000)
    callback()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    const ws = this.#ws
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      if (error) ws.terminate()
      else ws.close(1000)
    }
    callback(error)
  }
}
