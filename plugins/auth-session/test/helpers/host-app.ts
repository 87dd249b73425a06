/**
 * The host app the tests log in to: Express 5 with express-session (MemoryStore),
 * a login form, a logout that also ends the user's MQTT sessions, a page that
 * uses MQTT from the browser, and the broker mounted on the app's own port
 * with mountBroker — the setup the README describes.
 */
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import session from 'express-session'
import {
  authenticated, createBroker, MemoryLogger, next, refuse, type Broker, type Identity, type Plugin
} from '@embedmq/core'
import { mountBroker } from '@embedmq/express'
import { fromExpressSession, sessionAuth, type SessionAuthOptionsInput } from '../../src/index.js'
import { loginPage, mqttPage } from './pages.js'

declare module 'express-session' {
  interface SessionData {
    user?: { name: string, roles: string[] }
  }
}

export const SESSION_SECRET = 'test-only secret: at least 32 bytes of entropy in real apps'

/** The app's user table. */
const USERS: Record<string, { password: string, roles: string[] }> = {
  anna: { password: 'anna-pw', roles: ['operator'] },
  bob: { password: 'bob-pw', roles: [] }
}

/** A device login for TCP (and WebSocket without a session, with onNoSession 'next'). */
export const DEVICE = { username: 'device-1', password: 'device-secret' }

/** Another authenticator on the same broker, so the tests see session auth leave other logins alone. */
function devicePasswords (): Plugin {
  return {
    name: 'device-passwords',
    register (ctx) {
      ctx.addAuthenticator({
        authenticate: (input) => {
          if (input.username === undefined) return next()
          return input.username === DEVICE.username && input.password?.toString() === DEVICE.password
            ? authenticated({ username: DEVICE.username, roles: ['device'] })
            : refuse(4, 'wrong device password')
        }
      })
    }
  }
}

export interface HostAppOptions {
  /** More sessionAuth options (identify and allowedOrigins are filled in unless given). */
  sessionAuth?: (ctx: { sessionMiddleware: RequestHandler, origin: string }) => Partial<SessionAuthOptionsInput>
  /** express-session options merged over the app's. */
  session?: Partial<session.SessionOptions>
  /** Replaces the app's session middleware given to the plugin (the app itself keeps its own). */
  pluginMiddleware?: RequestHandler
  /** Extra plugins (authorizers…). */
  plugins?: Plugin[]
}

export interface HostApp {
  broker: Broker
  logs: MemoryLogger
  store: session.MemoryStore
  /** The app's own express-session middleware. */
  sessionMiddleware: RequestHandler
  server: http.Server
  /** http://127.0.0.1:PORT: the app's origin. */
  origin: string
  /** ws://127.0.0.1:PORT<path>. '/mqtt' is mounted with allowedOrigins; '/mqtt-unguarded' without (a misconfigured mount). */
  wsUrl (path?: '/mqtt' | '/mqtt-unguarded'): string
  /** The identities clients were let in with, by client id. */
  identities: Map<string, Identity>
  /** Logs in with fetch (POST /login, JSON) and returns the `connect.sid=…` cookie pair. */
  login (username: string, password: string): Promise<string>
  /** POST /logout with that cookie. */
  logout (cookie: string): Promise<void>
  stop (): Promise<void>
}

/** The folder of mqtt.js' browser bundles, found from the installed package. */
export const MQTT_DIST = path.join(path.dirname(createRequire(import.meta.url).resolve('mqtt/package.json')), 'dist')

/** Serves the MQTT page and the mqtt.js bundle: the app's, and an attacker's on another origin. */
export function servePage (app: express.Express, who: (req: express.Request) => string): void {
  app.get('/vendor/mqtt.min.js', (_req, res) => { res.sendFile(path.join(MQTT_DIST, 'mqtt.min.js')) })
  app.get('/app', (req, res) => { res.type('html').send(mqttPage(who(req))) })
}

export async function startHostApp (options: HostAppOptions = {}): Promise<HostApp> {
  const logs = new MemoryLogger()
  const store = new session.MemoryStore()
  const sessionMiddleware = session({
    secret: SESSION_SECRET,
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
    ...options.session
  })

  const app = express()
  app.use(sessionMiddleware)
  app.use(express.urlencoded({ extended: false }), express.json())
  app.get('/login', (_req, res) => { res.type('html').send(loginPage()) })
  app.post('/login', (req, res, fail) => {
    const { username, password } = (req.body ?? {}) as { username?: unknown, password?: unknown }
    const user = typeof username === 'string' ? USERS[username] : undefined
    if (user === undefined || typeof username !== 'string' || password !== user.password) {
      res.status(401).type('html').send(loginPage('Wrong user or password'))
      return
    }
    // A new session id at login (session fixation).
    req.session.regenerate((err) => {
      if (err) { fail(err); return }
      req.session.user = { name: username, roles: user.roles }
      req.session.save((saveErr) => { if (saveErr) fail(saveErr); else res.redirect(303, '/app') })
    })
  })
  app.post('/logout', (req, res, fail) => {
    const name = req.session.user?.name
    req.session.destroy((err) => {
      if (err) { fail(err); return }
      // The session is gone, so new MQTT logins with its cookie are refused;
      // this ends the connections it already opened (README: "Logging out").
      if (name !== undefined) {
        for (const c of broker.clients()) {
          if (c.username === name && (c.transport === 'ws' || c.transport === 'wss')) void broker.disconnect(c.id)
        }
      }
      res.redirect(303, '/login')
    })
  })
  servePage(app, req => req.session.user?.name ?? 'nobody')

  // The origin is the app's own address, known once it listens.
  const server = http.createServer(app)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const origin = `http://127.0.0.1:${port}`

  const identities = new Map<string, Identity>()
  const pluginMiddleware = options.pluginMiddleware ?? sessionMiddleware
  const broker = createBroker({
    logger: logs,
    listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
    plugins: [
      sessionAuth({
        identify: fromExpressSession(pluginMiddleware, (s: session.Session & Partial<session.SessionData>) =>
          s.user === undefined ? undefined : { username: s.user.name, roles: s.user.roles, claims: { via: 'express-session' } }),
        allowedOrigins: [origin],
        ...options.sessionAuth?.({ sessionMiddleware: pluginMiddleware, origin })
      }),
      devicePasswords(),
      {
        name: 'identity-recorder',
        register: (ctx) => ctx.addConnectionListener({ onConnect: (client) => { identities.set(client.clientId, client.identity) } })
      },
      ...options.plugins ?? []
    ]
  })
  mountBroker(server, broker, { path: '/mqtt', allowedOrigins: [origin] })
  mountBroker(server, broker, { path: '/mqtt-unguarded' })
  try {
    await broker.start()
  } catch (err) {
    server.close()
    throw err
  }

  return {
    broker,
    logs,
    store,
    sessionMiddleware,
    server,
    origin,
    identities,
    wsUrl: (p = '/mqtt') => `ws://127.0.0.1:${port}${p}`,
    async login (username, password) {
      const res = await fetch(`${origin}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
        redirect: 'manual'
      })
      if (res.status !== 303) throw new Error(`login as ${username} answered HTTP ${res.status}`)
      const cookie = res.headers.getSetCookie().map(c => c.split(';')[0]!).find(c => c.startsWith('connect.sid='))
      if (cookie === undefined) throw new Error(`login as ${username} set no session cookie: ${JSON.stringify(res.headers.getSetCookie())}`)
      return cookie
    },
    async logout (cookie) {
      const res = await fetch(`${origin}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' })
      if (res.status !== 303) throw new Error(`logout answered HTTP ${res.status}`)
    },
    async stop () {
      await broker.stop()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
