/**
 * The express-session adapter: runs the app's own session middleware on the
 * WebSocket upgrade request, so the same store, cookie name, secret and
 * signature check decide, with no second cookie parser and no copied secret.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Identify, IdentifyResult } from './options.js'
import { ResponseStub } from './response-stub.js'

/**
 * A Connect/Express middleware such as `session({...})`. Declared as a method
 * type so express' `RequestHandler` (whose parameters are Express' richer
 * Request/Response) is accepted as it is.
 */
export type SessionMiddleware = {
  handle (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): unknown
}['handle']

/** What express-session puts on `req.session`: its id and the app's data. */
export interface ExpressSessionLike {
  id: string
  [key: string]: unknown
}

/**
 * Maps the loaded session to the identity the MQTT connection gets, or
 * undefined when nobody is logged in. Type `session` with your own shape,
 * e.g. `fromExpressSession<Session & Partial<SessionData>>(...)`.
 */
export type SessionToIdentity<S> = (session: S, req: IncomingMessage) => IdentifyResult | Promise<IdentifyResult>

/**
 * Loads `req.session` with the middleware, on a copy-on-write view of the
 * request (the broker keeps the real one for the connection's life, so the
 * session is not pinned to it) and a response stub (nothing reaches the socket;
 * the session is never saved, touched or re-sent as a cookie).
 */
export function loadSession (middleware: SessionMiddleware, req: IncomingMessage): Promise<unknown> {
  const view = Object.create(req) as IncomingMessage & { session?: unknown }
  const res = new ResponseStub()
  return new Promise((resolve, reject) => {
    res.onEnd = () => reject(new Error(`the session middleware answered the upgrade request itself (HTTP ${res.statusCode}) instead of calling next()`))
    const done = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
        const message = err instanceof Error ? err.message : String(err)
        reject(new Error(`the session middleware failed: ${message}`, { cause: err }))
      } else if (view.session === undefined || view.session === null) {
        reject(new Error(`express-session loaded no session for ${req.url ?? '/'}: its store reports it is disconnected, or the session cookie's path (cookie.path) does not cover this path`))
      } else {
        resolve(view.session)
      }
    }
    try {
      middleware(view, res as unknown as ServerResponse, done)
    } catch (err) {
      done(err ?? new Error('the session middleware threw'))
    }
  })
}

/**
 * An `identify` function for `sessionAuth` from the app's express-session
 * middleware (the same instance the app uses) and a mapping from its session
 * to an identity:
 *
 *   identify: fromExpressSession(sessionMiddleware, (s) => s.user ? { username: s.user.name, roles: s.user.roles } : undefined)
 *
 * A request without a Cookie header has no session and skips the middleware.
 * An unsigned, forged, unknown or expired cookie loads a fresh empty session,
 * which the mapping answers undefined for. Store errors reject (→ CONNACK 3).
 */
export function fromExpressSession<S = ExpressSessionLike> (middleware: SessionMiddleware, toIdentity: SessionToIdentity<S>): Identify {
  if (typeof middleware !== 'function') throw new TypeError('fromExpressSession needs the app\'s express-session middleware (the value session({...}) returned) as its first argument')
  if (typeof toIdentity !== 'function') throw new TypeError('fromExpressSession needs a function (session) => { username, roles?, claims? } | undefined as its second argument')
  return async (req) => {
    if (req.headers.cookie === undefined || req.headers.cookie === '') return undefined
    const session = await loadSession(middleware, req)
    return toIdentity(session as S, req)
  }
}
