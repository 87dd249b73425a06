/**
 * The factory server: one Express app and http.Server that serves the
 * dashboard and its API, hosts the broker (MQTT over WebSocket at /mqtt on
 * the same port, plus a TCP listener for machines) and runs the line
 * controller in process.
 */
import { mkdirSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import type session from 'express-session'
import { createBroker, createLogger, isEmbedmqError, type Broker, type Logger, type Plugin } from '@embedmq/core'
import { brokerHealth, mountBroker } from '@embedmq/express'
import { fromExpressSession, sessionAuth } from '@embedmq/auth-session'
import { sqlitePersistence } from '@embedmq/persistence-sqlite'
import { defaultPlant, type PlantSpec } from '../shared/plant.js'
import { LineController, type ControllerOptions } from './controller/controller.js'
import { apiRoutes } from './http/api-routes.js'
import { authRoutes } from './http/auth-routes.js'
import { createSessionMiddleware } from './http/session.js'
import { vendorRoutes } from './http/vendor.js'
import { plantAcl } from './plant-acl.js'
import { plantAuth } from './plant-auth.js'
import { DEMO_USERS, ROLES, UserStore, type Role, type UserSpec } from './users.js'

/** The example's folder (dist/src/server/ → three levels up). */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const PUBLIC_DIR = path.join(PACKAGE_DIR, 'public')
export const DEFAULT_DATA_DIR = path.join(PACKAGE_DIR, 'data')

export interface FactoryServerOptions {
  /** HTTP port: dashboard, API and MQTT over WebSocket at /mqtt. 0 picks a free one. Default 3000. */
  port?: number
  /** MQTT over TCP, for machines. 0 picks a free one. Default 1883. */
  mqttPort?: number
  /** Address to bind both. Default 127.0.0.1. */
  host?: string
  /** Where the SQLite file lives (created if missing). Default `data/` in the example's folder. */
  dataDir?: string
  /** `sqlite` (default): retained states, alarms and queued commands survive a restart. `memory`: they do not. */
  persistence?: 'sqlite' | 'memory'
  /** Default: defaultPlant(), 2 lines of 6 machines. */
  plant?: PlantSpec
  /** Dashboard users. Default: DEMO_USERS (operator/operator, viewer/viewer). */
  users?: readonly UserSpec[]
  /** Machine passwords derive from it. Default MACHINE_SECRET or the demo secret. */
  machineSecret?: string
  /** Signs session cookies. Default: random per process. */
  sessionSecret?: string
  /** Extra page origins allowed to open the MQTT WebSocket (e.g. behind a proxy); the server's own are always allowed. */
  allowedOrigins?: readonly string[]
  controller?: ControllerOptions
  logger?: Logger
}

export interface FactoryServer {
  app: express.Express
  server: http.Server
  broker: Broker
  controller: LineController
  plant: PlantSpec
  urls: { http: string, mqtt: string, ws: string }
  /** Stops the controller, the broker (draining in-flight messages) and the HTTP server. Idempotent. */
  stop (): Promise<void>
}

/** A port that is taken, with the environment variable that changes it. */
export class PortInUseError extends Error {
  readonly port: number
  readonly envVar: 'PORT' | 'MQTT_PORT'
  constructor (port: number, what: string, envVar: 'PORT' | 'MQTT_PORT') {
    super(`port ${port} is already in use (${what}); set ${envVar} to another port`)
    this.name = 'PortInUseError'
    this.port = port
    this.envVar = envVar
  }
}

export async function createFactoryServer (options: FactoryServerOptions = {}): Promise<FactoryServer> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 3000
  const mqttPort = options.mqttPort ?? 1883
  const plant = options.plant ?? defaultPlant()
  const logger = options.logger ?? createLogger('info', 'smart-factory')
  const users = await UserStore.create(options.users ?? DEMO_USERS)

  // Made after the HTTP server listens; routes reach them through this holder.
  const late: { broker?: Broker, controller?: LineController } = {}
  let origins: string[] = []
  const sessionMiddleware = createSessionMiddleware(options.sessionSecret)

  // 1. The app: sessions, login, API, dashboard, vendor scripts.
  const app = express()
  app.disable('x-powered-by')
  app.use(sessionMiddleware)
  app.use(authRoutes({ users, publicDir: PUBLIC_DIR, logger, broker: () => late.broker }))
  app.use(apiRoutes(() => late.controller!, () => origins))
  app.use(vendorRoutes())
  app.get('/', (req, res) => {
    if (!req.session.user) { res.redirect(303, '/login'); return }
    res.sendFile(path.join(PUBLIC_DIR, 'index.html'))
  })
  app.use(express.static(PUBLIC_DIR, { index: false }))
  app.use(errorHandler(logger))

  // 2. Listen first: the page's origin (the Origin allowlist) needs the real port when port is 0.
  const server = http.createServer(app)
  try {
    await listen(server, port, host)
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new PortInUseError(port, 'HTTP dashboard and MQTT over WebSocket', 'PORT') : err
  }
  const httpPort = (server.address() as AddressInfo).port
  origins = pageOrigins(host, httpPort, options.allowedOrigins ?? [])

  // 3. The broker, with the plant's plugins.
  const plugins: Plugin[] = []
  if ((options.persistence ?? 'sqlite') === 'sqlite') {
    const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR)
    mkdirSync(dataDir, { recursive: true })
    plugins.push(sqlitePersistence({ file: path.join(dataDir, 'smart-factory.db') }))
  }
  plugins.push(
    plantAuth({ plant, users, ...(options.machineSecret ? { machineSecret: options.machineSecret } : {}) }),
    sessionAuth({
      identify: fromExpressSession(sessionMiddleware, (s: session.Session & Partial<session.SessionData>) =>
        s.user && (ROLES as readonly string[]).includes(s.user.role) ? { username: s.user.username, roles: [s.user.role as Role] } : undefined),
      allowedOrigins: origins
    }),
    plantAcl(plant)
  )
  const broker = createBroker({
    listeners: [{ type: 'tcp', host, port: mqttPort }],
    allowUnmatchedAuthorization: false,
    plugins,
    logger
  })
  late.broker = broker
  mountBroker(server, broker, { path: '/mqtt', allowedOrigins: origins })
  app.use(brokerHealth(broker))
  try {
    await broker.start()
  } catch (err) {
    await closeServer(server)
    throw isEmbedmqError(err, 'EMBEDMQ_LISTEN_ADDRESS_IN_USE') ? new PortInUseError(mqttPort, 'MQTT over TCP', 'MQTT_PORT') : err
  }

  // 4. The controller: in process, on the broker's API.
  const controller = new LineController(broker, plant, logger.child({ component: 'controller' }), options.controller)
  late.controller = controller
  await controller.start()

  const mqtt = broker.addresses().find(a => a.url.startsWith('mqtt:'))
  const httpUrl = `http://${urlHost(host)}:${httpPort}`
  let stopping: Promise<void> | undefined
  return {
    app,
    server,
    broker,
    controller,
    plant,
    urls: { http: httpUrl, mqtt: mqtt?.url ?? '', ws: `ws://${urlHost(host)}:${httpPort}/mqtt` },
    stop () {
      stopping ??= (async () => {
        await controller.stop()
        await broker.stop()
        await closeServer(server)
      })()
      return stopping
    }
  }
}

/**
 * JSON errors: a bad request body (malformed JSON, too large) is the client's
 * 4xx with its reason; anything else is a 500 with a log line, never a stack
 * trace in the response.
 */
function errorHandler (logger: Logger): express.ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) { next(err); return }
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500
    if (status >= 400 && status < 500) {
      res.status(status).json({ error: (err as Error).message })
      return
    }
    logger.error({ err, method: req.method, path: req.path }, `${req.method} ${req.path} failed`)
    res.status(500).json({ error: 'internal error; the server log has the details' })
  }
}

function listen (server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
}

function closeServer (server: http.Server): Promise<void> {
  server.closeAllConnections()
  return new Promise(resolve => server.close(() => resolve()))
}

function urlHost (host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

/** The origins the dashboard page is served from: the bound host, and localhost/127.0.0.1 for loopback or wildcard binds. */
function pageOrigins (host: string, port: number, extra: readonly string[]): string[] {
  const hosts = new Set<string>([urlHost(host)])
  if (['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1'].includes(host)) { hosts.add('127.0.0.1'); hosts.add('localhost') }
  return [...new Set([...[...hosts].map(h => `http://${h}:${port}`), ...extra])]
}
