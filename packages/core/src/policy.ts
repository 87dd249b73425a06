import type { EventEmitter } from 'node:events'
import type { BrokerConfig } from './config/schema.js'
import { toMessage, type CoreHooks, type PublishVerdict, type RoutedPacket } from './core-hooks.js'
import { toError } from './errors.js'
import type { Logger } from './logger.js'
import { isThenable, then } from './maybe-promise.js'
import type { BrokerEvents } from './broker-api.js'
import { runChain, runInterceptors, type Decided, type Intercepted } from './plugins/chain.js'
import type { AuthenticationResult, AuthorizationResult, Deny, MaybePromise } from './plugins/extensions.js'
import type { Extensions } from './plugins/host.js'
import type { AuthorizationAction, Session } from './session.js'
import type { ConnectInput, Identity, Message, SubscribeRequest } from './types.js'

const NEXT: AuthorizationResult = { outcome: 'next' }
const DENIED_DROP: PublishVerdict = Object.freeze({ action: 'drop', reason: 'not authorized' })

/** Errors that are just a peer going away: not worth more than a debug line. */
const ORDINARY_ENDS = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'])

/**
 * The broker's policy, in embedmq's terms: runs the plugin chains on the
 * aedes hooks, applies the defaults, caches authorization decisions, counts
 * in-flight QoS 1/2 publishes for draining, and turns it all into events and
 * log lines a person can act on.
 */
export class Policy implements CoreHooks {
  /** Inbound QoS 1/2 publishes authorized but not yet routed. */
  inflight = 0
  acceptingConnections = true
  /** Whether any authorizer answers read checks; when none does, deliveries skip the check. Known once plugins registered. */
  #hasReaders: boolean | undefined

  constructor (
    private readonly config: BrokerConfig,
    private readonly extensions: Extensions,
    private readonly log: Logger,
    private readonly events: EventEmitter<BrokerEvents>
  ) {}

  connect (session: Session, input: ConnectInput): MaybePromise<number> {
    if (!this.acceptingConnections) return this.#refuse(session, input, 3, 'broker is stopping', undefined)
    if (session.meta.transport === 'internal') {
      // Opened by host code with broker.connectInProcess(): trusted, like broker.publish().
      session.authenticated(input.clientId, { ...(input.username === undefined ? {} : { username: input.username }), roles: [], claims: {}, authenticatedBy: 'internal' })
      return 0
    }
    const certificateUsername = session.meta.certificateUsername
    if (certificateUsername !== undefined) {
      // The listener verified the client certificate: it is the login (Mosquitto's use_identity_as_username).
      session.authenticated(input.clientId, { username: certificateUsername, roles: [], claims: { certificate: session.meta.peerCertificate?.subject ?? {} }, authenticatedBy: 'certificate' })
      return 0
    }
    const decided = runChain(this.extensions.authenticators.links, a => a.authenticate(input), this.log, 'authenticate')
    return then(decided, ({ result, plugin }: Decided<AuthenticationResult | Deny>) => {
      if (result === undefined) {
        if (!this.config.allowAnonymous) {
          return this.#refuse(session, input, 5, 'no authenticator accepted the client and allowAnonymous is false', undefined)
        }
        session.authenticated(input.clientId, { ...(input.username === undefined ? {} : { username: input.username }), roles: [], claims: {}, authenticatedBy: 'anonymous' })
        return 0
      }
      if (result.outcome === 'deny') {
        const code = 'returnCode' in result && result.returnCode !== undefined ? result.returnCode : 5
        return this.#refuse(session, input, code, result.reason ?? 'denied', plugin)
      }
      const given = result.outcome === 'allow' && 'identity' in result ? result.identity ?? {} : {}
      const username = given.username ?? input.username
      const identity: Identity = {
        ...(username === undefined ? {} : { username }),
        roles: given.roles ?? [],
        claims: given.claims ?? {},
        authenticatedBy: plugin ?? 'unknown'
      }
      session.authenticated(input.clientId, identity)
      return 0
    })
  }

  #refuse (session: Session, input: ConnectInput, returnCode: number, reason: string, plugin: string | undefined): number {
    const info = {
      clientId: input.clientId,
      ...(input.username === undefined ? {} : { username: input.username }),
      transport: session.meta.transport,
      ...(session.meta.remoteAddress === undefined ? {} : { remoteAddress: session.meta.remoteAddress }),
      returnCode,
      reason
    }
    this.log.info({ ...info, plugin, listener: session.meta.listener }, `refused connection of client "${input.clientId}" with CONNACK ${returnCode}: ${reason}`)
    this.events.emit('connectionRefused', info)
    return returnCode
  }

  /** Looks up or computes an authorization decision, caching it per client. */
  #authorize (session: Session, action: AuthorizationAction, topic: string, ask: () => MaybePromise<Decided<AuthorizationResult | Deny>>): MaybePromise<boolean> {
    if (session.meta.transport === 'internal') return true
    const cache = this.config.authorization.cache
    if (cache) {
      const hit = session.authorizations.get(action, topic)
      if (hit !== undefined) return hit
    }
    if (this.extensions.authorizers.size === 0) return this.config.allowUnmatchedAuthorization
    return then(ask(), ({ result, plugin }) => {
      const allowed = result === undefined ? this.config.allowUnmatchedAuthorization : result.outcome === 'allow'
      if (!allowed) {
        this.log.info({ clientId: session.clientId, username: session.identity.username, plugin, action, topic, reason: result?.outcome === 'deny' ? result.reason : 'no authorizer allowed it' },
          `denied ${action === 'publish' ? 'publish to' : 'subscription to'} "${topic}" for client "${session.clientId}"`)
      }
      if (cache) session.authorizations.set(action, topic, allowed, this.config.authorization.cacheSize)
      return allowed
    })
  }

  /**
   * Every inbound PUBLISH comes here. The common case — a cached decision and
   * synchronous interceptors — allocates no closures: at tens of thousands of
   * messages a second, they showed up as garbage-collector time.
   */
  authorizePublish (session: Session, message: Message): MaybePromise<PublishVerdict> {
    const cached = this.config.authorization.cache ? session.authorizations.get('publish', message.topic) : undefined
    const allowed = cached ?? this.#authorize(session, 'publish', message.topic, () => runChain(this.extensions.authorizers.links,
      a => a.authorizePublish?.(session.context, message) ?? NEXT, this.log, 'authorizePublish'))
    if (isThenable(allowed)) return allowed.then(ok => this.#afterPublishAuthorization(session, message, ok))
    return this.#afterPublishAuthorization(session, message, allowed)
  }

  #afterPublishAuthorization (session: Session, message: Message, ok: boolean): MaybePromise<PublishVerdict> {
    if (!ok) {
      return this.config.authorization.onDeniedPublish === 'disconnect'
        ? { action: 'disconnect', reason: `not authorized to publish to ${message.topic}` }
        : DENIED_DROP
    }
    const outcome = this.intercept(message, session)
    if (isThenable(outcome)) return outcome.then(o => this.#verdictFor(o))
    return this.#verdictFor(outcome)
  }

  #verdictFor (outcome: Intercepted): PublishVerdict {
    if ('dropped' in outcome) return { action: 'drop', reason: outcome.dropped }
    if (outcome.message.qos > 0) this.inflight++
    return { action: 'deliver', message: outcome.message }
  }

  /** Runs the publish interceptors; `session` is null for the host app's publishes. */
  intercept (message: Message, session: Session | null): MaybePromise<Intercepted> {
    const links = this.extensions.interceptors.links
    if (links.length === 0) return { message }
    const outcome = runInterceptors(links, message, session?.context ?? null, this.log)
    if (!isThenable(outcome) && !('dropped' in outcome)) return outcome
    return then(outcome, (outcome) => {
      if ('dropped' in outcome) {
        this.log.debug({ topic: message.topic, plugin: outcome.plugin, clientId: session?.clientId }, `publish to "${message.topic}" dropped: ${outcome.dropped}`)
      }
      return outcome
    })
  }

  authorizeSubscribe (session: Session, request: SubscribeRequest): MaybePromise<boolean> {
    return this.#authorize(session, 'subscribe', request.filter, () => runChain(this.extensions.authorizers.links,
      a => a.authorizeSubscribe?.(session.context, request) ?? NEXT, this.log, 'authorizeSubscribe'))
  }

  canRead (session: Session, topic: string): boolean {
    if (session.meta.transport === 'internal') return true
    this.#hasReaders ??= this.extensions.authorizers.links.some(l => l.handler.authorizeRead !== undefined)
    if (!this.#hasReaders) return true
    const cache = this.config.authorization.cache
    const cached = cache ? session.authorizations.get('read', topic) : undefined
    if (cached !== undefined) return cached
    const decided = runChain(this.extensions.authorizers.links, (a) => {
      const answer = a.authorizeRead?.(session.context, topic) ?? NEXT
      if (isThenable(answer as MaybePromise<AuthorizationResult>)) {
        throw new Error('authorizeRead returned a promise; it must answer synchronously')
      }
      return answer
    }, this.log, 'authorizeRead') as Decided<AuthorizationResult | Deny>
    const allowed = decided.result === undefined ? this.config.allowUnmatchedAuthorization : decided.result.outcome === 'allow'
    if (!allowed) this.log.debug({ clientId: session.clientId, topic, plugin: decided.plugin }, 'delivery withheld by read authorization')
    if (cache) session.authorizations.set('read', topic, allowed, this.config.authorization.cacheSize)
    return allowed
  }

  published (session: Session | null, packet: RoutedPacket): void {
    if (session !== null && packet.qos > 0 && this.inflight > 0) this.inflight--
    if (this.events.listenerCount('published') > 0) this.events.emit('published', toMessage(packet), session?.context ?? null)
  }

  connected (session: Session): void {
    this.log.debug({ clientId: session.clientId, transport: session.meta.transport, remoteAddress: session.meta.remoteAddress }, 'client connected')
    this.events.emit('clientConnected', session.context)
    for (const { plugin, listener } of this.extensions.connectionListeners) {
      this.#notify(plugin, 'onConnect', () => listener.onConnect?.(session.context))
    }
  }

  disconnected (session: Session): void {
    session.authorizations.clear()
    // No DISCONNECT, no error, no decision of ours: the socket just ended (network, process gone).
    const reason = session.closeReason ?? 'connection closed'
    this.log.debug({ clientId: session.clientId, reason }, 'client disconnected')
    this.events.emit('clientDisconnected', session.context, reason)
    for (const { plugin, listener } of this.extensions.connectionListeners) {
      this.#notify(plugin, 'onDisconnect', () => listener.onDisconnect?.(session.context, reason))
    }
  }

  subscribed (session: Session, requests: SubscribeRequest[]): void {
    this.events.emit('subscribed', session.context, requests)
  }

  unsubscribed (session: Session, filters: string[]): void {
    this.events.emit('unsubscribed', session.context, filters)
  }

  outboundDropped (session: Session, total: number): void {
    // The first drop and then every 1000th: enough to act on, never a flood.
    if (total % 1000 === 1) {
      this.log.warn({ clientId: session.clientId, dropped: total, remoteAddress: session.meta.remoteAddress },
        `client "${session.clientId}" is not reading fast enough; dropping QoS 0 messages to it (${total} so far; limits.outgoing.maxBufferedBytes)`)
    }
  }

  outboundOverflow (session: Session, reason: string): void {
    this.log.warn({ clientId: session.clientId, remoteAddress: session.meta.remoteAddress, dropped: session.outbound.dropped },
      `disconnecting client "${session.clientId}": ${reason}`)
  }

  connectionError (session: Session, error: Error): void {
    const code = (error as NodeJS.ErrnoException).code
    const where = { clientId: session.clientId || undefined, listener: session.meta.listener, remoteAddress: session.meta.remoteAddress, err: error.message }
    if ((code !== undefined && ORDINARY_ENDS.has(code)) || error.message === 'connection closed' || error.name === 'SlowConsumerError') {
      this.log.debug(where, 'connection ended')
    } else {
      this.log.warn(where, `closed connection from ${session.meta.remoteAddress ?? 'unknown address'} on ${session.meta.listener}${session.clientId ? ` (client "${session.clientId}")` : ''}: ${error.message}`)
    }
  }

  #notify (plugin: string, what: string, call: () => MaybePromise<void>): void {
    const report = (err: unknown): void => {
      this.log.error({ plugin, err: toError(err) }, `connection listener of plugin "${plugin}" failed in ${what}; the client is unaffected`)
    }
    try {
      const result = call()
      if (isThenable(result)) result.catch(report)
    } catch (err) {
      report(err)
    }
  }
}
