/**
 * A byte pipe to the broker over TCP or WebSocket, the same shape for both,
 * so sessions and the health probe don't care which one they ride. Loopback
 * only; every wait bounded.
 */
import net from 'node:net'
import { WebSocket } from 'ws'

export type Transport = 'tcp' | 'ws'

export interface Endpoint {
  tcpPort: number
  /** ws://127.0.0.1:<port>/mqtt */
  wsUrl: string
}

export interface Conn {
  /** Resolves true once the bytes are handed to the OS (one TCP write or one binary WS frame), false if the connection is gone. */
  write (bytes: Buffer): Promise<boolean>
  /** Polite close: FIN on TCP, a close frame on WS. */
  end (): void
  /** Abrupt close. */
  destroy (): void
  /** Stops reading: the broker's writes back up, as with a slow consumer. */
  stopReading (): void
  /** Resolves when the connection has closed, however it closed. */
  readonly closed: Promise<void>
  isClosed (): boolean
}

export interface ConnEvents {
  onData: (bytes: Buffer) => void
  /** Called once, when the connection closes, before `closed` resolves. */
  onClose: () => void
}

function openTcp (port: number, events: ConnEvents, timeoutMs: number): Promise<Conn | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.setNoDelay(true) // one write, one segment: a planned chunking reaches the broker as planned
    let isClosed = false
    const closed = new Promise<void>(done => socket.once('close', () => { isClosed = true; events.onClose(); done() }))
    socket.on('error', () => undefined) // resets and refusals show as 'close'
    socket.on('data', events.onData)
    const timer = setTimeout(() => { socket.destroy() }, timeoutMs)
    socket.once('close', () => { clearTimeout(timer); resolve(undefined) })
    socket.once('connect', () => {
      clearTimeout(timer)
      resolve({
        write: bytes => new Promise(done => {
          if (isClosed || !socket.writable) { done(false); return }
          socket.write(bytes, err => done(!err))
        }),
        end: () => { socket.end() },
        destroy: () => { socket.destroy() },
        stopReading: () => { socket.pause() },
        closed,
        isClosed: () => isClosed
      })
    })
  })
}

function openWs (url: string, events: ConnEvents, timeoutMs: number): Promise<Conn | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'mqtt', { perMessageDeflate: false, handshakeTimeout: timeoutMs })
    let isClosed = false
    const closed = new Promise<void>(done => ws.once('close', () => { isClosed = true; events.onClose(); done() }))
    ws.on('error', () => undefined) // failures show as 'close'
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      events.onData(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data))
    })
    ws.once('close', () => resolve(undefined))
    ws.once('open', () => {
      resolve({
        write: bytes => new Promise(done => {
          if (isClosed || ws.readyState !== WebSocket.OPEN) { done(false); return }
          ws.send(bytes, { binary: true }, err => done(!err))
        }),
        end: () => { ws.close(1000) },
        destroy: () => { ws.terminate() },
        stopReading: () => { ws.pause() },
        closed,
        isClosed: () => isClosed
      })
    })
  })
}

/** Opens a connection, or resolves undefined when it cannot be opened within `timeoutMs`. */
export function open (transport: Transport, endpoint: Endpoint, events: ConnEvents, timeoutMs: number): Promise<Conn | undefined> {
  return transport === 'tcp' ? openTcp(endpoint.tcpPort, events, timeoutMs) : openWs(endpoint.wsUrl, events, timeoutMs)
}

/** Resolves after `ms`, or earlier when `p` settles; never rejects. */
export async function within (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p.catch(() => undefined), new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}
