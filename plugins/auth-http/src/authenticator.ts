import { authenticated, next, refuse, type AuthenticationResult, type Authenticator, type ConnectInput, type MaybePromise } from '@embedmq/core'
import type { DecisionStore, Outcome } from './decision-store.js'
import type { LoginGrants } from './read-grants.js'
import type { Decision } from './reply.js'
import { authenticateKey, authenticateRequest } from './requests.js'

/** Long client-supplied strings are cut in log fields, so one hostile CONNECT cannot bloat the log. */
export const forLog = (value: string | undefined): string | undefined =>
  value === undefined || value.length <= 200 ? value : `${value.slice(0, 200)}… (${value.length} chars)`

/**
 * Asks the authenticate endpoint whether a CONNECT may log in. Identical
 * logins are answered from the cache without a request; concurrent identical
 * ones share one request. The answer maps to the broker's chain:
 * allow → authenticated (with the username, roles and claims the service
 * gave), deny → CONNACK 4/5 (or the code the service chose), ignore → next,
 * malformed → CONNACK 5, failure → CONNACK 3 "server unavailable" (onError:
 * deny) or next (onError: next).
 */
export class HttpAuthenticator implements Authenticator {
  constructor (
    private readonly store: DecisionStore,
    private readonly loginGrants: LoginGrants,
    private readonly onError: 'deny' | 'next'
  ) {}

  authenticate (input: ConnectInput): MaybePromise<AuthenticationResult> {
    const request = authenticateRequest(input)
    const key = authenticateKey(request)
    const hit = this.store.fresh(key)
    if (hit !== undefined) return this.#decided(hit.value)
    const context = { clientId: forLog(input.clientId), username: forLog(input.username), remoteAddress: input.remoteAddress, transport: input.transport }
    return this.store.fetch(key, request, context).then(outcome => this.#answer(outcome))
  }

  #answer (outcome: Outcome): AuthenticationResult {
    switch (outcome.kind) {
      case 'decision': return this.#decided(outcome.decision)
      case 'malformed': return refuse(5, `authenticate endpoint answered malformed: ${outcome.reason}`)
      case 'failure': return this.onError === 'deny' ? refuse(3, `authenticate endpoint unavailable: ${outcome.reason}`) : next()
    }
  }

  #decided (decision: Decision): AuthenticationResult {
    if (decision.result === 'ignore') return next()
    if (decision.result === 'deny') return refuse(decision.returnCode ?? 4, `authenticate endpoint denied (${decision.source})`)
    // A fresh claims object per connection: it is what the login's read grants are attached to.
    const claims = { ...decision.claims }
    if (decision.read !== undefined) this.loginGrants.attach(claims, decision.read)
    return authenticated({
      ...(decision.username === undefined ? {} : { username: decision.username }),
      roles: [...(decision.roles ?? [])],
      claims
    })
  }
}
