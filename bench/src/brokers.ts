/**
 * The two brokers under test, each started the way its users start it.
 * Each is imported only when started, so a broker process loads one of
 * them, not both.
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { BrokerKind, Endpoint, PersistenceConfig, Transport } from './protocol.js'

const HOST = '127.0.0.1'
export const WS_PATH = '/mqtt'

export interface RunningBroker {
  endpoints: Record<Transport, Endpoint>
  /** QoS 0 messages the broker dropped for slow subscribers so far (bare aedes never drops: it holds publishers back). */
  dropped (): number
  stop (): Promise<void>
}

/**
 * embedmq as an application embeds it: TCP and WebSocket listeners, no
 * anonymous access, the three bench plugins, and every other setting at its
 * default (notably `authorization.cache: true`, what production runs).
 */
async function startEmbedmq (persistence: PersistenceConfig): Promise<RunningBroker> {
  const { createBroker } = await import('@embedmq/core')
  const { benchPlugins } = await import('./plugins.js')
  const plugins = benchPlugins()
  if (persistence.kind === 'sqlite') {
    // Options at their defaults (synchronous: 'full', no queue cap): what the README's example runs.
    const { sqlitePersistence } = await import('@embedmq/persistence-sqlite')
    plugins.push(sqlitePersistence({ file: persistence.file }))
  } else if (persistence.kind === 'redis') {
    const { redisPersistence } = await import('@embedmq/persistence-redis')
    plugins.push(redisPersistence({ url: persistence.url, keyPrefix: persistence.keyPrefix }))
  }
  const broker = createBroker({
    logLevel: 'silent',
    allowAnonymous: false,
    listeners: [
      { type: 'tcp', host: HOST, port: 0 },
      { type: 'ws', host: HOST, port: 0, path: WS_PATH }
    ],
    plugins
  })
  await broker.start()
  const port = (transport: Transport): number => {
    const address = broker.addresses().find(a => a.transport === transport)
    if (!address) throw new Error(`embedmq has no ${transport} listener`)
    return address.port
  }
  return {
    endpoints: {
      tcp: { transport: 'tcp', host: HOST, port: port('tcp'), path: '' },
      ws: { transport: 'ws', host: HOST, port: port('ws'), path: WS_PATH }
    },
    dropped: () => broker.clients().reduce((sum, c) => sum + c.droppedMessages, 0),
    stop: () => broker.stop()
  }
}

function listen (server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, HOST, () => { resolve((server.address() as AddressInfo).port) })
  })
}

/**
 * Bare aedes exactly as its README and docs/Examples.md wire it: the broker's
 * `handle` on a net server, and `ws.createWebSocketStream` per WebSocket.
 */
async function startAedes (): Promise<RunningBroker> {
  const { Aedes } = await import('aedes')
  const { WebSocketServer, createWebSocketStream } = await import('ws')
  const aedes = await Aedes.createBroker()
  const tcpServer = net.createServer(aedes.handle)
  const httpServer = http.createServer()
  const wss = new WebSocketServer({ server: httpServer })
  wss.on('connection', (websocket, req) => {
    aedes.handle(createWebSocketStream(websocket), req)
  })
  const [tcpPort, wsPort] = await Promise.all([listen(tcpServer), listen(httpServer)])
  return {
    endpoints: {
      tcp: { transport: 'tcp', host: HOST, port: tcpPort, path: '' },
      ws: { transport: 'ws', host: HOST, port: wsPort, path: WS_PATH }
    },
    dropped: () => 0,
    stop: async () => {
      await new Promise<void>(resolve => aedes.close(() => resolve()))
      wss.close()
      tcpServer.close()
      httpServer.close()
    }
  }
}

/** `persistence` applies to embedmq only (the persistence scenario); bare aedes always runs its in-memory default. */
export function startBroker (kind: BrokerKind, persistence: PersistenceConfig = { kind: 'memory' }): Promise<RunningBroker> {
  return kind === 'embedmq' ? startEmbedmq(persistence) : startAedes()
}
