/**
 * The chain link: logs browsers in on the WebSocket path from the app's own
 * session, after the Origin check that makes cookie logins safe.
 */
import {
  authenticated, next, refuse, type AuthenticationResult, type Authenticator, type ConnectInput, type Logger, type MaybePromise
} from '@embedmq/core'
import { DeadlineExceeded, withDeadline } from './deadline.js'
import { checkIdentity } from './identity.js'
import type { SessionAuthOptions } from './options.js'
import { OriginAllowlist } from './origin.js'

/** Why a connection without a session is refused; said in the broker log, never to the client. */
const NO_SESSION = 'no logged-in session on the WebSocket upgrade request (no session cookie, or it is unsigned, unknown, expired or logged out)'

/** Header values are attacker-controlled: keep log lines short. */
const forLog = (value: string): string => (value.length > 200 ? `${value.slice(0, 200)}… (${value.length} chars)` : value)

/**
 * Answers next() for what is not its business (TCP/TLS, connections without
 * an upgrade request, listeners outside `listeners`); for the rest:
 * foreign Origin → CONNACK 5; identify fails, hangs or answers garbage →
 * CONNACK 3 (server unavailable), logged; no session → CONNACK 5 or next()
 * (`onNoSession`); a session → authenticated with the session's identity.
 */
export class SessionAuthenticator implements Authenticator {
  readonly #origins: OriginAllowlist
  readonly #listeners: ReadonlySet<string> | undefined

  constructor (private readonly options: SessionAuthOptions, private readonly log: Logger) {
    this.#origins = new OriginAllowlist(options.allowedOrigins)
    this.#listeners = options.listeners ? new Set(options.listeners) : undefined
  }

  authenticate (input: ConnectInput): MaybePromise<AuthenticationResult> {
    // Synchronous for everything else, so TCP logins pay no promise for this link.
    if ((input.transport !== 'ws' && input.transport !== 'wss') || input.request === undefined) return next()
    if (this.#listeners !== undefined && !this.#listeners.has(input.listener)) return next()
    const origin = input.request.headers.origin
    if (!this.#origins.allows(origin)) {
      const shown = forLog(origin ?? '')
      this.log.warn({ clientId: input.clientId, listener: input.listener, remoteAddress: input.remoteAddress, origin: shown, hasCookie: input.request.headers.cookie !== undefined },
        `refused WebSocket client "${input.clientId}" from origin "${shown}": not in allowedOrigins (${this.options.allowedOrigins.join(', ')}); ` +
        'a page on another origin must not log in with a visitor\'s session cookie (Cross-Site WebSocket Hijacking). Add the origin if it is your own app.')
      return refuse(5, `origin ${shown} is not in allowedOrigins`)
    }
    return this.#identify(input)
  }

  async #identify (input: ConnectInput): Promise<AuthenticationResult> {
    const request = input.request!
    const who = { clientId: input.clientId, listener: input.listener, remoteAddress: input.remoteAddress }
    let answer: unknown
    try {
      answer = await withDeadline(() => this.options.identify(request, input), this.options.identifyTimeoutMs)
    } catch (err) {
      if (err instanceof DeadlineExceeded) {
        this.log.error({ ...who, timeoutMs: err.ms },
          `identify did not answer within ${err.ms} ms for WebSocket client "${input.clientId}"; refusing with CONNACK 3 (server unavailable). Check the session store, or raise identifyTimeoutMs.`)
        return refuse(3, 'identify timed out')
      }
      const error = err instanceof Error ? err : new Error(String(err))
      this.log.error({ ...who, err: error },
        `identify failed for WebSocket client "${input.clientId}": ${error.message}; refusing with CONNACK 3 (server unavailable)`)
      return refuse(3, 'identify failed')
    }
    const checked = checkIdentity(answer)
    if ('problem' in checked) {
      this.log.error(who, `${checked.problem}; refusing WebSocket client "${input.clientId}" with CONNACK 3 (server unavailable). Fix the identify function.`)
      return refuse(3, 'identify answered an invalid identity')
    }
    const identity = checked.identity
    if (identity === undefined) return this.options.onNoSession === 'next' ? next() : refuse(5, NO_SESSION)
    if (input.username !== undefined && input.username !== identity.username) {
      // The session decides who this is; CONNECT's username and password are not credentials here.
      this.log.debug({ ...who, connectUsername: forLog(input.username), username: identity.username },
        `WebSocket client "${input.clientId}" logged in by session as "${identity.username}"; the CONNECT username is ignored`)
    }
    return authenticated({ username: identity.username, roles: identity.roles, claims: identity.claims })
  }
}
