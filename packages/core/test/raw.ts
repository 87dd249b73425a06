import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import { WebSocket } from 'ws'

/** A raw MQTT connection: writes whatever bytes a test wants and records what comes back. */
export class RawClient {
  readonly packets: mqttPacket.Packet[] = []
  readonly closed: Promise<void>
  readonly #parser = mqttPacket.parser()
  readonly #send: (bytes: Buffer) => void
  readonly #pause: () => void
  readonly #end: () => void

  private constructor (kind: 'tcp' | 'ws', socket: net.Socket | WebSocket) {
    this.#parser.on('packet', (p) => this.packets.push(p))
    this.#parser.on('error', () => undefined)
    if (kind === 'tcp') {
      const s = socket as net.Socket
      s.on('data', (d) => this.#parser.parse(d))
      s.on('error', () => undefined)
      this.closed = new Promise(resolve => s.once('close', () => resolve()))
      this.#send = (b) => { s.write(b) }
      this.#pause = () => { s.pause() }
      this.#end = () => { s.destroy() }
    } else {
      const w = socket as WebSocket
      w.on('message', (d) => this.#parser.parse(d as Buffer))
      w.on('error', () => undefined)
      this.closed = new Promise(resolve => w.once('close', () => resolve()))
      this.#send = (b) => { w.send(b) }
      this.#pause = () => { w.pause() }
      this.#end = () => { w.terminate() }
    }
  }

  static async open (url: string): Promise<RawClient> {
    const u = new URL(url)
    if (u.protocol === 'mqtt:') {
      const socket = net.connect(Number(u.port), u.hostname)
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
      return new RawClient('tcp', socket)
    }
    const ws = new WebSocket(url, ['mqtt'])
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return new RawClient('ws', ws)
  }

  send (...packets: Array<Buffer | mqttPacket.Packet>): void {
    this.#send(Buffer.concat(packets.map(p => Buffer.isBuffer(p) ? p : mqttPacket.generate(p))))
  }

  /** Sends CONNECT and waits for CONNACK; resolves to its return code. */
  async connect (clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): Promise<number> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0, ...extra } as mqttPacket.IConnectPacket)
    const connack = await this.next('connack') as mqttPacket.IConnackPacket
    return connack.returnCode ?? 0
  }

  /** Waits for the next packet of a kind (bounded). */
  async next (cmd: string, ms = 5000): Promise<mqttPacket.Packet> {
    const deadline = Date.now() + ms
    for (;;) {
      const found = this.packets.findIndex(p => p.cmd === cmd)
      if (found >= 0) return this.packets.splice(found, 1)[0]!
      if (Date.now() > deadline) throw new Error(`no ${cmd} within ${ms} ms; got ${this.packets.map(p => p.cmd).join(', ') || 'nothing'}`)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }

  /** Stops reading from the socket: the broker sees a frozen client. */
  freeze (): void { this.#pause() }
  end (): void { this.#end() }

  /** Resolves true when the broker closed the connection within `ms`. */
  async closedWithin (ms = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) })
    try {
      return await Promise.race([this.closed.then(() => true), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
