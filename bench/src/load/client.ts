/**
 * One MQTT client of the generator, over TCP or WebSocket. Above the
 * transport both look the same: `encode` turns packets into socket bytes
 * (on WebSocket, one masked frame per MQTT packet, as browser clients send
 * them), `write` sends bytes with backpressure, inbound bytes go through the
 * MqttFramer.
 */
import net from 'node:net'
import type { Packet, QoS } from 'mqtt-packet'
import type { Endpoint } from '../protocol.js'
import { connectPacket, DISCONNECT, MqttFramer, subscribePacket } from './mqtt.js'
import { FrameReader, FrameWriter, openWebSocket, pongFrame } from './websocket.js'

export interface ClientOptions {
  clientId: string
  username: string
  password: string
  /** Seconds; long enough that no PINGREQ is due within a run. */
  keepalive: number
  timeoutMs: number
  /** false: a persistent session (default true). */
  clean?: boolean
}

export interface ClientHandlers {
  publish? (buf: Buffer, payloadStart: number, payloadEnd: number, qos: number, messageId: number): void
  puback? (messageId: number): void
  /** After each inbound chunk: the place to flush acknowledgements in one write. */
  flush? (): void
}

export class Client {
  readonly #socket: net.Socket
  readonly #writer: FrameWriter | undefined
  readonly #framer: MqttFramer
  #handlers: ClientHandlers = {}
  #waiter: { resolve: (packet: Packet) => void, reject: (err: Error) => void } | undefined
  #closed = false

  private constructor (socket: net.Socket, websocket: boolean, head: Buffer) {
    this.#socket = socket
    socket.setNoDelay(true)
    this.#framer = new MqttFramer({
      publish: (buf, start, end, qos, id) => this.#handlers.publish?.(buf, start, end, qos, id),
      puback: (id) => this.#handlers.puback?.(id),
      control: (packet) => {
        const waiter = this.#waiter
        this.#waiter = undefined
        waiter?.resolve(packet)
      }
    })
    const feed = (chunk: Buffer): void => {
      this.#framer.push(chunk)
    }
    let onBytes = feed
    if (websocket) {
      this.#writer = new FrameWriter()
      const reader = new FrameReader({
        data: feed,
        ping: (payload) => { socket.write(pongFrame(payload)) },
        close: () => { socket.end() }
      })
      onBytes = (chunk) => reader.push(chunk)
    }
    const onData = (chunk: Buffer): void => {
      try {
        onBytes(chunk)
        this.#handlers.flush?.()
      } catch (err) {
        socket.destroy(err instanceof Error ? err : new Error(String(err)))
      }
    }
    socket.on('data', onData)
    socket.on('error', (err) => this.#fail(err))
    socket.on('close', () => this.#fail(new Error('connection closed by broker')))
    if (head.length > 0) onData(head)
  }

  /** Opens the transport, sends CONNECT and waits for CONNACK 0. */
  static async connect (endpoint: Endpoint, options: ClientOptions): Promise<Client> {
    const { socket, head } = endpoint.transport === 'ws'
      ? await openWebSocket(endpoint.host, endpoint.port, endpoint.path, options.timeoutMs)
      : { socket: await openTcp(endpoint.host, endpoint.port, options.timeoutMs), head: Buffer.alloc(0) }
    const client = new Client(socket, endpoint.transport === 'ws', head)
    const connack = await client.#request(connectPacket(options.clientId, options.username, options.password, options.keepalive, options.clean ?? true), options.timeoutMs)
    if (connack.cmd !== 'connack' || connack.returnCode !== 0) {
      client.close()
      throw new Error(`CONNACK refused client ${options.clientId}: ${connack.cmd === 'connack' ? String(connack.returnCode) : connack.cmd}`)
    }
    return client
  }

  /** SUBSCRIBE and wait for a SUBACK that grants it. */
  async subscribe (topic: string, qos: QoS, timeoutMs: number): Promise<void> {
    const suback = await this.#request(subscribePacket(1, topic, qos), timeoutMs)
    if (suback.cmd !== 'suback' || suback.granted[0] === 0x80) {
      throw new Error(`subscription to ${topic} refused`)
    }
  }

  on (handlers: ClientHandlers): void {
    this.#handlers = handlers
  }

  /** Socket bytes for these packets; compute once and reuse for repeated traffic. */
  encode (packets: readonly Buffer[]): Buffer {
    if (this.#writer) return this.#writer.frames(packets)
    return packets.length === 1 ? packets[0]! : Buffer.concat(packets)
  }

  /** Writes encoded bytes; false means wait for `drain()`. */
  write (bytes: Buffer): boolean {
    return this.#socket.write(bytes)
  }

  drain (callback: () => void): void {
    this.#socket.once('drain', callback)
  }

  get closed (): boolean { return this.#closed }

  /** Sends DISCONNECT and waits (bounded) for the broker to close the connection. */
  async disconnect (timeoutMs: number): Promise<void> {
    if (this.#closed) return
    const gone = new Promise<void>(resolve => this.#socket.once('close', () => resolve()))
    this.#socket.end(this.encode([DISCONNECT]))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([gone, new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })])
    clearTimeout(timer)
    this.close()
  }

  close (): void {
    this.#closed = true
    this.#socket.destroy()
  }

  #request (packet: Buffer, timeoutMs: number): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiter = undefined; reject(new Error(`no answer from the broker within ${timeoutMs} ms`)) }, timeoutMs)
      this.#waiter = {
        resolve: (p) => { clearTimeout(timer); resolve(p) },
        reject: (err) => { clearTimeout(timer); reject(err) }
      }
      this.write(this.encode([packet]))
    })
  }

  #fail (err: Error): void {
    this.#closed = true
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.reject(err)
  }
}

function openTcp (host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    const timer = setTimeout(() => socket.destroy(new Error(`TCP connect timed out after ${timeoutMs} ms`)), timeoutMs)
    const onError = (err: Error): void => { clearTimeout(timer); reject(err) }
    socket.once('error', onError)
    socket.once('connect', () => { clearTimeout(timer); socket.off('error', onError); resolve(socket) })
  })
}
