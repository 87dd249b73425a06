import { authenticated, next, refuse, type AuthenticationResult, type Authenticator, type ConnectInput, type Logger } from '@embedmq/core'
import type { AclStore } from './acl-store.js'
import { claimString, claimStrings, describeClaim, isMqttString, readClaim } from './claims.js'
import type { JwtAuthOptions } from './options.js'
import { presentedToken } from './token-source.js'
import type { JwtVerifier } from './verify.js'

const MAX_USERNAME_BYTES = 65_535

/**
 * Logs clients in with a JWT from the MQTT password or the WebSocket upgrade
 * request. No token: next() (another authenticator may know the client). A
 * token that fails any check: CONNACK 4 (bad user name or password); a valid
 * token the plugin cannot use (no username claim, username or client id not
 * the token's): CONNACK 5 (not authorized); keys unavailable because the
 * JWKS endpoint is down: CONNACK 3 (server unavailable). The broker logs every
 * refusal with the reason given here; the token itself is never logged.
 */
export class JwtAuthenticator implements Authenticator {
  constructor (
    private readonly o: JwtAuthOptions,
    private readonly verifier: JwtVerifier,
    private readonly acls: AclStore,
    private readonly log: Logger
  ) {}

  async authenticate (input: ConnectInput): Promise<AuthenticationResult> {
    try {
      return await this.#authenticate(input)
    } catch (err) {
      // A bug or an exotic failure deep in a key library: refuse with a reason rather than throw.
      this.log.error({ clientId: input.clientId, err: (err as Error).message }, 'unexpected error while checking a token')
      return refuse(3, `unexpected error while checking the token: ${(err as Error).message}`)
    }
  }

  async #authenticate (input: ConnectInput): Promise<AuthenticationResult> {
    const presented = presentedToken(input, this.o.websocket, this.o.maxTokenBytes)
    switch (presented.kind) {
      case 'none':
        return next()
      case 'too-large':
        return refuse(4, `token in the ${presented.origin} is ${presented.bytes} bytes, over maxTokenBytes (${this.o.maxTokenBytes}); not parsed`)
      case 'not-utf8':
      case 'not-a-jwt':
        if (presented.origin === 'password' && this.o.nonJwtPassword === 'next') {
          this.log.debug({ clientId: input.clientId }, 'password is not a JWT; passed on (nonJwtPassword: next)')
          return next()
        }
        return presented.kind === 'not-utf8'
          ? refuse(4, 'password is not valid UTF-8, so it is not a JWT')
          : refuse(4, `malformed token in the ${presented.origin}: ${presented.why}`)
      case 'token':
        break
    }

    const verified = await this.verifier.verify(presented.token)
    if (!verified.ok) return refuse(verified.refusal.code, `${verified.refusal.reason} (token from the ${presented.origin})`)
    const claims = verified.payload as Record<string, unknown>

    const username = claimString(readClaim(claims, this.o.usernameClaim))
    const usernameClaim = describeClaim(this.o.usernameClaim)
    if (username === undefined || username.length === 0) return refuse(5, `token has no usable "${usernameClaim}" claim (usernameClaim) to name the client`)
    if (!isMqttString(username) || Buffer.byteLength(username) > MAX_USERNAME_BYTES) return refuse(5, `token "${usernameClaim}" claim is not a valid MQTT username (NUL, broken UTF-16 or over 65535 bytes)`)
    if (this.o.requireUsernameMatch && input.username !== undefined && input.username !== '' && input.username !== username) {
      return refuse(5, `MQTT username ${JSON.stringify(input.username.slice(0, 64))} is not the token's "${usernameClaim}" ${JSON.stringify(username.slice(0, 64))} (requireUsernameMatch)`)
    }
    if (this.o.clientIdClaim !== undefined) {
      const bound = claimString(readClaim(claims, this.o.clientIdClaim))
      if (bound !== input.clientId) {
        return refuse(5, `client id ${JSON.stringify(input.clientId.slice(0, 64))} is not the token's "${describeClaim(this.o.clientIdClaim)}" claim${bound === undefined ? ' (missing)' : ''} (clientIdClaim)`)
      }
    }
    const roles = claimStrings(readClaim(claims, this.o.rolesClaim), true)?.values ?? []

    this.acls.compile(claims, username, input.clientId)
    this.log.debug({ clientId: input.clientId, username, alg: verified.alg, kid: verified.kid, exp: claims.exp, origin: presented.origin }, `token of "${username}" verified`)
    return authenticated({ username, roles, claims })
  }
}
