import net from 'node:net'
import { networkInterfaces } from 'node:os'
import mqtt, { type MqttClient } from 'mqtt'

/** A port the OS says is free right now (bind to 0, read it, close). */
export function freePort (host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Holds a port, as another program would, until `close()`. */
export async function occupyPort (host = '127.0.0.1'): Promise<{ port: number, close: () => Promise<void> }> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const { port } = server.address() as net.AddressInfo
  return { port, close: () => new Promise(resolve => server.close(() => resolve())) }
}

/** Whether we can bind host:port ourselves, i.e. nothing holds it any more. */
export function canBind (port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise(resolve => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

/** Outcome of a plain TCP connection attempt: 'connected' or the error code (ECONNREFUSED…). */
export function tryConnect (port: number, host: string): Promise<string> {
  return new Promise(resolve => {
    const socket = net.connect({ port, host })
    socket.setTimeout(5000, () => { socket.destroy(); resolve('timeout') })
    socket.once('connect', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

/** An IPv4 address of this machine other than loopback, if it has one. */
export function externalIPv4 (): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return undefined
}

const clients = new Set<MqttClient>()

/** An mqtt.js client that gives up at once instead of reconnecting, so failures surface as errors. */
export async function connectClient (url: string | URL, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(String(url), { reconnectPeriod: 0, connectTimeout: 5000, ...options })
  clients.add(client)
  return client
}

export async function closeClients (): Promise<void> {
  await Promise.all([...clients].map(c => c.endAsync(true)))
  clients.clear()
}

/** The next message on `topic`, or a clear failure after `ms`. */
export function nextMessage (client: MqttClient, topic: string, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve(payload.toString())
    }
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`no message on "${topic}" within ${ms} ms`))
    }, ms)
    client.on('message', onMessage)
  })
}
