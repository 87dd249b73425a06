/**
 * An ordinary Express app — a REST API for a few machines — that gains an
 * MQTT broker in a few lines: devices publish over TCP, browsers over
 * WebSocket on the app's own port, and route handlers publish and subscribe
 * in process.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createBroker, type Broker, type Logger } from '@embedmq/core'
import { brokerHealth, mountBroker } from '@embedmq/express'

export interface AppOptions {
  /** HTTP port: REST API and MQTT over WebSocket at /mqtt. 0 picks a free one. */
  port: number
  /** MQTT over TCP port. 0 picks a free one. */
  mqttPort: number
  /** Address to bind. The example binds loopback by default, as an unconfigured Mosquitto does. */
  host: string
  logger?: Logger
}

export interface RunningApp {
  broker: Broker
  server: http.Server
  urls: { http: string, mqtt: string, ws: string }
  stop (): Promise<void>
}

export async function startApp (options: AppOptions): Promise<RunningApp> {
  // 1. The broker: anonymous access is fine for a loopback demo; see @embedmq/auth-* for real logins.
  const broker = createBroker({
    allowAnonymous: true,
    listeners: [{ type: 'tcp', host: options.host, port: options.mqttPort }],
    ...(options.logger ? { logger: options.logger } : {})
  })

  // 2. The app's own routes, which can use the broker in process.
  const latest = new Map<string, unknown>()
  const app = express()
  app.use(express.json())
  app.get('/api/machines', (_req, res) => {
    res.json([...latest].map(([id, telemetry]) => ({ id, telemetry })))
  })
  app.post('/api/machines/:id/commands', async (req, res) => {
    const command = typeof req.body?.command === 'string' ? req.body.command : undefined
    if (!command) { res.status(400).json({ error: 'body must be {"command": "start" | "stop" | ...}' }); return }
    await broker.publish(`machines/${req.params.id}/cmd`, JSON.stringify({ command }), { qos: 1 })
    res.status(202).json({ sent: command })
  })
  app.use(brokerHealth(broker))

  // 3. MQTT over WebSocket on the same port as the API.
  const server = http.createServer(app)
  mountBroker(server, broker, { path: '/mqtt' })

  await broker.start()
  await broker.subscribe('machines/+/telemetry', (message) => {
    const id = message.topic.split('/')[1]!
    try {
      latest.set(id, JSON.parse(message.payload.toString()))
    } catch {
      latest.set(id, message.payload.toString())
    }
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
    })
  } catch (err) {
    await broker.stop()
    throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new Error(`port ${options.port} is already in use (HTTP/WebSocket); set PORT to another port`)
      : err
  }

  const httpPort = (server.address() as AddressInfo).port
  const mqtt = broker.addresses()[0]!
  return {
    broker,
    server,
    urls: { http: `http://${options.host}:${httpPort}`, mqtt: mqtt.url, ws: `ws://${options.host}:${httpPort}/mqtt` },
    async stop () {
      await broker.stop()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
