/** The dashboard's login session: express-session, shared with the broker through @embedmq/auth-session. */
import { randomBytes } from 'node:crypto'
import session from 'express-session'
import type { RequestHandler } from 'express'
import type { User } from '../users.js'

declare module 'express-session' {
  interface SessionData {
    user?: User
  }
}

/**
 * One session middleware instance for the app and the broker. The store is
 * express-session's MemoryStore: a demo keeps sessions in the process, and
 * logins do not survive a restart (use connect-redis or similar beyond a demo).
 * Without a secret, a random one is made per process, for the same reason.
 */
export function createSessionMiddleware (secret: string | undefined): RequestHandler {
  return session({
    name: 'factory.sid',
    secret: secret ?? randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 12 * 60 * 60 * 1000 }
  })
}
