import {
  allow, deny, next, topicMatches,
  type AuthorizationResult, type Authorizer, type ClientContext, type Logger, type MaybePromise, type Message,
  type PublishRequest, type SubscribeRequest
} from '@embedmq/core'
import { forLog } from './authenticator.js'
import type { CoreCacheExpiry } from './core-cache-expiry.js'
import type { DecisionStore, Outcome } from './decision-store.js'
import type { LoginGrants, SubscriptionGrantIndex } from './read-grants.js'
import type { Decision } from './reply.js'
import { authorizeKey, authorizeRequest, principalKey, type AuthorizeAction, type AuthorizeRequest } from './requests.js'

export interface HttpAuthorizerOptions {
  onError: 'deny' | 'next'
  retryAfterErrorMs: number
  warmRetained: number
  timeoutMs: number
}

/** What the authorizer reads from the broker; may throw (e.g. outside a running broker), which only skips a prefetch. */
export interface BrokerAccess {
  /** The retained messages matching a filter. */
  retained (filter: string): AsyncIterable<Message>
}

type Answered = AuthorizationResult['outcome']

const contextOf = (request: AuthorizeRequest): Record<string, unknown> =>
  ({ clientId: forLog(request.clientId), username: forLog(request.username ?? undefined), action: request.action, topic: forLog(request.topic) })

function fromDecision (decision: Decision): AuthorizationResult {
  if (decision.result === 'allow') return allow()
  if (decision.result === 'ignore') return next()
  return deny(`authorize endpoint denied (${decision.source})`)
}

const hasWildcard = (filter: string): boolean => filter.includes('+') || filter.includes('#')

/**
 * Asks the authorize endpoint what a client may do.
 *
 * Publish and subscribe checks are asynchronous: a fresh cached decision
 * answers at once, otherwise one request per distinct check (joined by
 * concurrent identical ones).
 *
 * Read checks (one per delivery the broker has not cached) must answer
 * synchronously, so they are answered from what is already known, in order:
 * 1. read filters granted at login (`read` in the authenticate answer);
 * 2. read filters granted with a subscribe answer (`read` in it), while that
 *    decision is cached;
 * 3. a cached `read` decision for the topic (after its TTL it is still used
 *    while a background refresh runs, for up to one more TTL; a failed
 *    refresh drops it);
 * 4. otherwise: deny this delivery (fail closed) and ask the service in the
 *    background; when the answer is not a deny, the client's broker cache is
 *    emptied so the next message on that topic is checked again.
 * To make step 4 rare, a subscription to a topic without wildcards fetches
 * its read decision before the SUBACK, and a wildcard subscription does so
 * for up to `warmRetained` retained topics it matches.
 */
export class HttpAuthorizer implements Authorizer {
  constructor (
    private readonly store: DecisionStore,
    private readonly loginGrants: LoginGrants,
    private readonly grants: SubscriptionGrantIndex,
    private readonly expiry: CoreCacheExpiry,
    private readonly broker: BrokerAccess,
    private readonly log: Logger,
    private readonly options: HttpAuthorizerOptions,
    private readonly now: () => number = Date.now
  ) {}

  authorizePublish (client: ClientContext, request: PublishRequest): MaybePromise<AuthorizationResult> {
    return this.#check(client, 'publish', request.topic)
  }

  async authorizeSubscribe (client: ClientContext, request: SubscribeRequest): Promise<AuthorizationResult> {
    const result = await this.#check(client, 'subscribe', request.filter)
    if (result.outcome === 'allow') await this.#warm(client, request.filter)
    return result
  }

  authorizeRead (client: ClientContext, topic: string): AuthorizationResult {
    try {
      if (this.loginGrants.allows(client.identity, topic)) return allow()
      if (this.#grantedBySubscription(client, topic)) return allow()
      const request = authorizeRequest(client, 'read', topic)
      const key = authorizeKey(request)
      const cached = this.store.peek(key)
      if (cached !== undefined) {
        const result = fromDecision(cached.value)
        if (cached.fresh) this.expiry.by(client.clientId, cached.expiresAt)
        else void this.#fetchRead(client, key, request, result.outcome)
        return result
      }
      const answer = this.options.onError === 'next' && this.store.failing
        ? next()
        : deny('no read decision cached for this topic yet; asking the service in the background and withholding this delivery')
      void this.#fetchRead(client, key, request, answer.outcome)
      return answer
    } catch (err) {
      this.log.error({ clientId: forLog(client.clientId), topic: forLog(topic), err }, `read check failed: ${(err as Error).message}; withholding the delivery`)
      return deny('read check failed')
    }
  }

  #check (client: ClientContext, action: AuthorizeAction, topic: string): MaybePromise<AuthorizationResult> {
    const request = authorizeRequest(client, action, topic)
    const key = authorizeKey(request)
    const hit = this.store.fresh(key)
    if (hit !== undefined) return this.#decided(client, key, request, hit.value, hit.expiresAt)
    return this.store.fetch(key, request, contextOf(request)).then(outcome => this.#answer(client, key, request, outcome))
  }

  #answer (client: ClientContext, key: string, request: AuthorizeRequest, outcome: Outcome): AuthorizationResult {
    if (outcome.kind === 'decision') return this.#decided(client, key, request, outcome.decision, outcome.expiresAt)
    // Not cached here; the broker caches whatever we answer, so have it ask again later.
    this.expiry.by(client.clientId, this.now() + this.options.retryAfterErrorMs)
    if (request.action === 'subscribe') this.grants.remove(principalKey(client), key)
    if (outcome.kind === 'malformed') return deny(`authorize endpoint answered malformed: ${outcome.reason}`)
    return this.options.onError === 'deny' ? deny(`authorize endpoint unavailable: ${outcome.reason}`) : next()
  }

  #decided (client: ClientContext, key: string, request: AuthorizeRequest, decision: Decision, expiresAt: number): AuthorizationResult {
    this.expiry.by(client.clientId, expiresAt)
    if (request.action === 'subscribe') {
      if (decision.result === 'allow' && (decision.read?.length ?? 0) > 0) this.grants.add(principalKey(client), key, request)
      else this.grants.remove(principalKey(client), key)
    }
    return fromDecision(decision)
  }

  /** Whether a cached subscribe answer of this client granted reading the topic; refreshes stale ones. */
  #grantedBySubscription (client: ClientContext, topic: string): boolean {
    const principal = principalKey(client)
    for (const [key, request] of this.grants.entries(principal)) {
      const cached = this.store.peek(key)
      const read = cached?.value.result === 'allow' ? cached.value.read : undefined
      if (cached === undefined || read === undefined) {
        this.grants.remove(principal, key)
        continue
      }
      if (!read.some(f => topicMatches(f, topic))) continue
      if (cached.fresh) this.expiry.by(client.clientId, cached.expiresAt)
      else this.#refreshGrant(client, principal, key, request, read)
      return true
    }
    return false
  }

  /** Whether a read of `topic` is already answerable without a request (no side effects). */
  #known (client: ClientContext, topic: string): boolean {
    if (this.loginGrants.allows(client.identity, topic)) return true
    for (const [key] of this.grants.entries(principalKey(client))) {
      const cached = this.store.fresh(key)
      if (cached?.value.result === 'allow' && cached.value.read?.some(f => topicMatches(f, topic)) === true) return true
    }
    return this.store.fresh(authorizeKey(authorizeRequest(client, 'read', topic))) !== undefined
  }

  /**
   * Asks for a read decision in the background (one request per key). When
   * it settles, the broker's cached answer for the client is corrected:
   * emptied now if the decision differs from what was answered, or when it
   * falls due otherwise.
   */
  #fetchRead (client: ClientContext, key: string, request: AuthorizeRequest, answered: Answered): Promise<void> {
    // Join a request already in flight; the caller that started it corrects the broker's cache.
    if (this.store.isFetching(key)) return this.store.fetch(key, request, contextOf(request)).then(() => undefined)
    return this.store.fetch(key, request, contextOf(request)).then((outcome) => {
      if (outcome.kind === 'decision') {
        if (fromDecision(outcome.decision).outcome !== answered) this.expiry.immediately(client.clientId)
        else this.expiry.by(client.clientId, outcome.expiresAt)
        return
      }
      // A stale decision must not outlive a failed refresh (fail closed).
      this.store.forget(key)
      if (answered === 'allow') this.expiry.immediately(client.clientId)
      else this.expiry.by(client.clientId, this.now() + this.options.retryAfterErrorMs)
    })
  }

  /** Refreshes a stale subscribe answer whose read grants were just used. */
  #refreshGrant (client: ClientContext, principal: string, key: string, request: AuthorizeRequest, used: readonly string[]): void {
    if (this.store.isFetching(key)) return
    void this.store.fetch(key, request, contextOf(request)).then((outcome) => {
      const read = outcome.kind === 'decision' && outcome.decision.result === 'allow' ? outcome.decision.read ?? [] : []
      if (outcome.kind === 'decision' && read.length > 0) {
        if (JSON.stringify(read) === JSON.stringify(used)) this.expiry.by(client.clientId, outcome.expiresAt)
        else this.expiry.immediately(client.clientId)
        return
      }
      // Revoked, or the refresh failed: the grants go, and with them the reads the broker cached on their strength.
      if (outcome.kind !== 'decision') this.store.forget(key)
      this.grants.remove(principal, key)
      this.expiry.immediately(client.clientId)
    })
  }

  /** Fetches read decisions a new subscription will need, before its SUBACK; bounded by timeoutMs, never fails the subscription. */
  async #warm (client: ClientContext, filter: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, this.options.timeoutMs) })
    try {
      await Promise.race([this.#warmTopics(client, filter), deadline])
    } catch (err) {
      this.log.debug({ clientId: forLog(client.clientId), filter: forLog(filter), err }, 'could not prefetch read decisions for a subscription')
    } finally {
      clearTimeout(timer)
    }
  }

  async #warmTopics (client: ClientContext, filter: string): Promise<void> {
    const topics = new Set<string>()
    if (!hasWildcard(filter)) topics.add(filter)
    else if (this.options.warmRetained > 0) {
      for await (const message of this.broker.retained(filter)) {
        topics.add(message.topic)
        if (topics.size >= this.options.warmRetained) break
      }
    }
    await Promise.all([...topics].filter(t => !this.#known(client, t)).map((topic) => {
      const request = authorizeRequest(client, 'read', topic)
      return this.#fetchRead(client, authorizeKey(request), request, 'deny')
    }))
  }
}
