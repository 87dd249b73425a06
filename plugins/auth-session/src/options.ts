/**
 * The plugin's options: one zod schema for code and config files, so a
 * missing allowlist or a misspelt key is an error naming the field.
 */
import type { IncomingMessage } from 'node:http'
import { z } from 'zod'
import type { ConnectInput } from '@embedmq/core'
import type { SessionIdentity } from './identity.js'
import { parseAllowedOrigin } from './origin.js'

/** What identify may answer: an identity, or undefined/null for "no logged-in session". */
export type IdentifyResult = SessionIdentity | undefined | null

/**
 * The app's own "who is logged in" for an HTTP request: given the WebSocket
 * upgrade request (its cookies, headers and URL) and the MQTT CONNECT, it
 * answers the session's identity, or undefined when there is no logged-in
 * session. It must not write to the request's socket.
 */
export type Identify = (req: IncomingMessage, connect: ConnectInput) => IdentifyResult | Promise<IdentifyResult>

/** What happens to an in-scope WebSocket connection that has no logged-in session. */
export type OnNoSession = 'deny' | 'next'

const origin = z.string().transform((value, ctx) => {
  const parsed = parseAllowedOrigin(value)
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem })
    return z.NEVER
  }
  return parsed.origin
})

export const sessionAuthOptionsSchema = z.strictObject({
  /** The app's function from an upgrade request to the logged-in identity (see fromExpressSession). */
  identify: z.custom<Identify>(v => typeof v === 'function', {
    error: 'identify must be a function (req) => { username, roles?, claims? } | undefined, e.g. fromExpressSession(sessionMiddleware, session => ...)'
  }),
  /**
   * Page origins allowed to log in with their session, e.g. ['https://app.example.com'].
   * Required: browsers send cookies on cross-site WebSocket upgrades, so session
   * login without an Origin check lets any web page act as a logged-in visitor
   * (Cross-Site WebSocket Hijacking).
   */
  allowedOrigins: z.array(origin, {
    error: (issue) => issue.input === undefined
      ? 'allowedOrigins is required: list the origins of the pages that may log in with their session (e.g. ["https://app.example.com"]); without an Origin check any web site could connect as a logged-in visitor (Cross-Site WebSocket Hijacking)'
      : undefined
  }).min(1, 'allowedOrigins needs at least one origin, e.g. ["https://app.example.com"]'),
  /** 'deny' (default): refuse (CONNACK 5) in-scope WebSocket connections without a session. 'next': let other authenticators decide. */
  onNoSession: z.enum(['deny', 'next']).default('deny'),
  /** Listener names this plugin covers (e.g. 'express:/mqtt' for mountBroker's '/mqtt'). Default: every ws/wss listener. */
  listeners: z.array(z.string().min(1, 'listener names are not empty')).min(1, 'listeners, when given, names at least one listener').optional(),
  /** How long identify may take before the connection is refused with CONNACK 3. Default 3000 ms. */
  identifyTimeoutMs: z.number().int().min(1).max(60_000).default(3000),
  /** Chain priority; high by default so session logins are decided before password authenticators refuse a browser without a password. */
  priority: z.number().int().default(100)
})

/** Options as given to `sessionAuth()`. */
export type SessionAuthOptionsInput = z.input<typeof sessionAuthOptionsSchema>
/** Options after validation (defaults applied, origins normalized). */
export type SessionAuthOptions = z.output<typeof sessionAuthOptionsSchema>
