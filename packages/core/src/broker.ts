import 'reflect-metadata'
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type http from 'node:http'
import type https from 'node:https'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { container as rootContainer, type DependencyContainer } from 'tsyringe'
import { AedesCore } from './aedes-core.js'
import { AddressRateLimiter } from './edge/address-rate.js'
import { inboundGuardFor, type InboundGuard } from './edge/index.js'
import type { BrokerApi, BrokerEvents, BrokerState, HealthReport, MessageHandler, PublishOptions, Unsubscribe } from './broker-api.js'
import { parseConfig } from './config/load.js'
import { loadPluginSpec } from './config/plugins.js'
import type { BrokerConfig, BrokerConfigInput } from './config/schema.js'
import { EmbedmqError, toError } from './errors.js'
import type { BridgeProvider, BridgeStatus } from './bridges.js'
import { createListener } from './listeners/index.js'
import { duplexPair } from './listeners/in-process.js'
import type { ConnectionMeta, ConnectionSink, Listener, ListenerAddress } from './listeners/types.js'
import { WebSocketGateway } from './listeners/websocket.js'
import { createLogger, type Logger } from './logger.js'
import { PluginHost } from './plugins/host.js'
import type { PersistenceProvider, Plugin } from './plugins/plugin.js'
import { Policy } from './policy.js'
import { systemClock, Tokens } from './tokens.js'
import { topicFilterProblem, topicNameProblem } from './topic.js'
import type { ClientInfo, Message, QoS } from './types.js'

/** Options for `createBroker`: the configuration, plus what cannot live in a file. */
export type BrokerOptions = BrokerConfigInput & {
  /** A pino-compatible logger; one is created at `logLevel` when left out. */
  logger?: Logger
}

export interface WebSocketMountOptions {
  /** URL path for MQTT over WebSocket. Default '/mqtt'. */
  path?: string
  /** Browser origins allowed to connect; others get HTTP 403 before any MQTT byte. Undefined allows any. */
  allowedOrigins?: readonly string[]
  /** Name for logs and connection metadata. Default 'ws:<path>'. */
  name?: string
}

/**
 * An MQTT broker that lives inside a Node.js process: aedes at the core,
 * listeners on TCP/TLS/WebSocket (or on the host app's own HTTP server),
 * plugins for authentication, authorization, persistence and more.
 */
export class Broker extends EventEmitter<BrokerEvents> implements BrokerApi, ConnectionSink {
  readonly config: BrokerConfig
  readonly logger: Logger
  /** This broker's tsyringe container (a child of the global one); plugins get children of it. */
  readonly container: DependencyContainer
  readonly id: string
  #state: BrokerState = 'created'
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #startedAt = 0
  #core: AedesCore | undefined
  #persistenceProvider: PersistenceProvider | undefined
  readonly #host: PluginHost
  readonly #policy: Policy
  readonly #listeners: Listener[] = []
  readonly #detachers: Array<() => void> = []
  readonly #open = new Set<Duplex>()
  #pendingPublishes = 0
  #refusedForCapacity = 0
  #refusedForRate = 0
  readonly #connectionRate: AddressRateLimiter

  constructor (options: BrokerOptions = {}) {
    super()
    const { logger, ...config } = options
    this.config = parseConfig(config, 'broker options')
    this.id = this.config.id ?? randomUUID()
    this.logger = (logger ?? createLogger(this.config.logLevel)).child({ broker: this.id.slice(0, 8) })
    this.container = rootContainer.createChildContainer()
    this.container.register(Tokens.BrokerApi, { useValue: this })
    this.container.register(Tokens.Config, { useValue: this.config })
    this.container.register(Tokens.Logger, { useValue: this.logger })
    this.container.register(Tokens.Clock, { useValue: systemClock })
    this.#host = new PluginHost(this.container, this.logger, this, {
      linkTimeoutMs: this.config.pluginTimeouts.linkMs,
      lifecycleTimeoutMs: this.config.pluginTimeouts.lifecycleMs,
      ...(this.config.baseDir === undefined ? {} : { baseDir: this.config.baseDir })
    })
    this.#policy = new Policy(this.config, this.#host.extensions, this.logger, this)
    this.#connectionRate = new AddressRateLimiter(this.config.limits.connectionsPerSecondPerAddress)
  }

  get state (): BrokerState { return this.#state }

  /** The largest MQTT packet accepted (ConnectionSink). */
  get maxPacketSize (): number { return this.config.limits.maxPacketSize }

  /** Adds a plugin; only before start. */
  use (plugin: Plugin): this {
    if (this.#state !== 'created') {
      throw new EmbedmqError('EMBEDMQ_INVALID_STATE', `plugin "${plugin.name}" added after start; add plugins before broker.start()`, { plugin: plugin.name })
    }
    this.#host.use(plugin)
    return this
  }

  #setState (state: BrokerState): void {
    this.#state = state
    this.emit('stateChanged', state)
  }

  /**
   * Registers plugins (dependency order), opens persistence, starts the core,
   * starts plugins, then the listeners. A failure undoes what was done and
   * rejects with a coded EmbedmqError. Calling it again while starting or
   * running returns the same outcome.
   */
  start (): Promise<void> {
    if (this.#state === 'created') {
      this.#starting = this.#start()
      return this.#starting
    }
    if (this.#state === 'starting' || this.#state === 'running') return this.#starting ?? Promise.resolve()
    return Promise.reject(new EmbedmqError('EMBEDMQ_INVALID_STATE', `cannot start a broker that is ${this.#state}; create a new one`))
  }

  async #start (): Promise<void> {
    this.#setState('starting')
    try {
      for (const entry of this.config.plugins) {
        this.#host.use('register' in entry ? entry : await loadPluginSpec(entry))
      }
      await this.#host.register()
      const ext = this.#host.extensions
      this.#persistenceProvider = ext.persistence?.provider
      ext.bridges?.provider.onStateChange((status) => this.emit('bridgeState', status))
      const { persistence, emitter } = await this.#openPersistence()
      this.#core = await AedesCore.create({
        id: this.id,
        limits: this.config.limits,
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        hooks: this.#policy,
        logger: this.logger,
        ...(persistence === undefined ? {} : { persistence }),
        ...(emitter === undefined ? {} : { emitter })
      })
      await this.#host.start()
      for (const config of this.config.listeners) {
        const listener = createListener(config, this)
        this.#listeners.push(listener)
        await listener.start()
      }
    } catch (err) {
      await this.#teardown()
      this.#setState('stopped')
      throw err
    }
    this.#startedAt = Date.now()
    this.#setState('running')
    for (const address of this.addresses()) {
      const everywhere = address.boundAddress === '0.0.0.0' || address.boundAddress === '::'
      this.logger.info({ listener: address.name, url: address.url, boundAddress: address.boundAddress },
        `listening on ${address.url}${everywhere ? ` (bound to ${address.boundAddress}: every interface)` : ''}`)
    }
    if (this.#host.extensions.authenticators.size === 0 && !this.config.allowAnonymous) {
      this.logger.warn('no authenticator is registered and allowAnonymous is false: every client will be refused. Add an auth plugin or set allowAnonymous: true.')
    }
  }

  /** Opens the provider's store and bus; a failure becomes a coded error naming the provider. */
  async #openPersistence (): Promise<{ persistence?: object, emitter?: object }> {
    const provider = this.#persistenceProvider
    if (!provider) return {}
    try {
      const persistence = await provider.createPersistence()
      const emitter = await provider.createEmitter?.()
      return { persistence, ...(emitter === undefined ? {} : { emitter }) }
    } catch (err) {
      const cause = toError(err)
      throw new EmbedmqError('EMBEDMQ_PERSISTENCE_UNAVAILABLE',
        `persistence "${provider.name}" could not start: ${cause.message}`, { provider: provider.name }, { cause })
    }
  }

  /**
   * Stops accepting connections, lets in-flight QoS 1/2 exchanges finish
   * (up to `drainTimeoutMs`), closes clients, listeners, bus and persistence,
   * then stops plugins in reverse order. Safe to call twice, or before start.
   */
  stop (): Promise<void> {
    if (this.#state === 'created') { this.#setState('stopped'); return Promise.resolve() }
    if (this.#state === 'stopped') return this.#stopping ?? Promise.resolve()
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => undefined)
      if (this.#state === 'stopped') return
      this.#setState('stopping')
      await this.#teardown()
      this.#setState('stopped')
      this.logger.info('broker stopped')
    })()
    return this.#stopping
  }

  async #teardown (): Promise<void> {
    this.#policy.acceptingConnections = false
    const closing = this.#listeners.map(l => l.stop())
    for (const detach of this.#detachers.splice(0)) detach()
    await this.#drain()
    try {
      await this.#core?.close()
    } catch (err) {
      this.logger.error({ err: toError(err) }, 'error while closing the broker core')
    }
    for (const stream of this.#open) stream.destroy()
    await Promise.all(closing)
    await this.#host.stop()
    try {
      await this.#persistenceProvider?.close?.()
    } catch (err) {
      this.logger.error({ err: toError(err) }, 'error while closing persistence')
    }
  }

  async #drain (): Promise<void> {
    const core = this.#core
    if (!core) return
    const deadline = Date.now() + this.config.drainTimeoutMs
    const busy = (): boolean => {
      if (this.#policy.inflight > 0 || this.#pendingPublishes > 0) return true
      for (const c of core.connected()) if (c.writableLength > 0) return true
      return false
    }
    while (busy() && Date.now() < deadline) await sleep(10)
    if (busy()) this.logger.warn({ inflight: this.#policy.inflight }, `stop: in-flight messages did not finish within drainTimeoutMs (${this.config.drainTimeoutMs} ms); closing anyway`)
  }

  /** Takes a connection from a listener (ConnectionSink). */
  accept (stream: Duplex, meta: ConnectionMeta): void {
    if (this.#state !== 'running' || !this.#core) {
      stream.destroy()
      return
    }
    if (this.#open.size >= this.config.limits.maxConnections) {
      // Log the first refusal and then every 1000th, so a flood cannot flood the log too.
      if (this.#refusedForCapacity++ % 1000 === 0) {
        this.logger.warn({ maxConnections: this.config.limits.maxConnections, remoteAddress: meta.remoteAddress, refused: this.#refusedForCapacity },
          `refusing connection from ${meta.remoteAddress ?? 'unknown address'}: limits.maxConnections (${this.config.limits.maxConnections}) reached`)
      }
      stream.destroy()
      return
    }
    if (!this.#connectionRate.admit(meta.remoteAddress)) {
      if (this.#refusedForRate++ % 1000 === 0) {
        this.logger.warn({ remoteAddress: meta.remoteAddress, perSecond: this.config.limits.connectionsPerSecondPerAddress },
          `refusing connection from ${meta.remoteAddress ?? 'unknown address'}: more than limits.connectionsPerSecondPerAddress (${this.config.limits.connectionsPerSecondPerAddress})`)
      }
      stream.destroy()
      return
    }
    this.#open.add(stream)
    stream.once('close', () => this.#open.delete(stream))
    const rawBytes = meta.transport === 'tcp' || meta.transport === 'tls'
    this.#core.handle(stream, meta, rawBytes ? this.createInboundGuard() : undefined)
  }

  connectInProcess (): Duplex {
    const core = this.#running('connect in process')
    const [clientEnd, brokerEnd] = duplexPair()
    this.#open.add(brokerEnd)
    brokerEnd.once('close', () => this.#open.delete(brokerEnd))
    // No inbound guard: the bytes come from trusted code in this process, not the network.
    core.handle(brokerEnd, { transport: 'internal', listener: 'in-process' })
    return clientEnd
  }

  #bridgeProvider (what: string): BridgeProvider {
    const bridges = this.#host.extensions.bridges
    if (!bridges) {
      throw new EmbedmqError('EMBEDMQ_NO_BRIDGE_PLUGIN', `cannot ${what}: no plugin provides bridges; add the @embedmq/bridge-mqtt plugin to the broker`)
    }
    return bridges.provider
  }

  async bridge (spec: unknown): Promise<BridgeStatus> {
    this.#running('add a bridge')
    return this.#bridgeProvider('add a bridge').add(spec)
  }

  async unbridge (name: string): Promise<boolean> {
    return this.#host.extensions.bridges?.provider.remove(name) ?? false
  }

  bridges (): BridgeStatus[] {
    return this.#host.extensions.bridges?.provider.list() ?? []
  }

  /** A fresh inbound edge guard under this broker's limits (ConnectionSink). */
  createInboundGuard (): InboundGuard {
    return inboundGuardFor(this.config.limits)
  }

  /**
   * Serves MQTT over WebSocket on a path of an existing http(s).Server (the
   * host app's). Upgrades on other paths are left to the app. Returns a
   * function that detaches; stop() detaches too.
   */
  attachWebSocket (server: http.Server | https.Server, options: WebSocketMountOptions = {}): () => void {
    const path = options.path ?? '/mqtt'
    const gateway = new WebSocketGateway({
      name: options.name ?? `ws:${path}`,
      path,
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {})
    }, this)
    const detach = gateway.attach(server)
    this.#detachers.push(detach)
    return () => {
      const i = this.#detachers.indexOf(detach)
      if (i >= 0) this.#detachers.splice(i, 1)
      detach()
    }
  }

  /**
   * The core, for the in-process API: usable once running, and already while
   * starting from the moment the core is up, so plugins' start() can
   * subscribe, publish and connect in process (listeners open after them).
   */
  #running (what: string): AedesCore {
    if ((this.#state !== 'running' && this.#state !== 'starting') || !this.#core) {
      throw new EmbedmqError('EMBEDMQ_INVALID_STATE', `cannot ${what}: the broker is ${this.#state}; await broker.start() first`)
    }
    return this.#core
  }

  async publish (topic: string, payload: string | Buffer | Uint8Array, options: PublishOptions = {}): Promise<void> {
    const core = this.#running('publish')
    const problem = topicNameProblem(topic, this.config.limits.maxTopicLevels)
    if (problem) throw new EmbedmqError('EMBEDMQ_INVALID_TOPIC', `cannot publish to "${topic}": the topic ${problem}`, { topic })
    const message: Message = {
      topic,
      payload: Buffer.isBuffer(payload) ? payload : typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      qos: (options.qos ?? 0) as QoS,
      retain: options.retain ?? false
    }
    this.#pendingPublishes++
    try {
      const outcome = await this.#policy.intercept(message, null)
      if ('dropped' in outcome) return
      await core.publish(outcome.message)
    } catch (err) {
      throw new EmbedmqError('EMBEDMQ_PUBLISH_FAILED', `publish to "${topic}" failed: ${toError(err).message}`, { topic }, { cause: err })
    } finally {
      this.#pendingPublishes--
    }
  }

  async subscribe (filter: string, handler: MessageHandler): Promise<Unsubscribe> {
    const core = this.#running('subscribe')
    const problem = topicFilterProblem(filter, this.config.limits.maxTopicLevels)
    if (problem) throw new EmbedmqError('EMBEDMQ_INVALID_TOPIC', `cannot subscribe to "${filter}": the filter ${problem}`, { filter })
    const report = (err: unknown): void => {
      this.logger.error({ filter, err: toError(err) }, `in-process subscriber for "${filter}" failed; other subscribers are unaffected`)
    }
    return core.subscribe(filter, (message) => {
      try {
        const result = handler(message)
        if (result && typeof result.catch === 'function') result.catch(report)
      } catch (err) {
        report(err)
      }
    })
  }

  retained (filter: string): AsyncIterable<Message> {
    return this.#running('read retained messages').retained(filter)
  }

  clients (): ClientInfo[] {
    if (!this.#core) return []
    return [...this.#core.connected()].map(c => c.info)
  }

  disconnect (clientId: string, options: { connectionId?: string } = {}): Promise<boolean> {
    return this.#core ? this.#core.disconnect(clientId, options.connectionId) : Promise.resolve(false)
  }

  invalidateAuthorizations (clientId?: string): void {
    if (!this.#core) return
    for (const { session } of this.#core.connected()) {
      if (clientId === undefined || session.clientId === clientId) session.authorizations.clear()
    }
  }

  addresses (): ListenerAddress[] {
    return this.#listeners.map(l => l.address()).filter((a): a is ListenerAddress => a !== undefined)
  }

  health (): HealthReport {
    return {
      status: this.#state === 'running' ? 'ok' : 'unavailable',
      state: this.#state,
      id: this.id,
      uptimeSeconds: this.#state === 'running' ? Math.round((Date.now() - this.#startedAt) / 1000) : 0,
      connections: this.#open.size,
      listeners: this.addresses()
    }
  }
}

/** Creates a broker; nothing listens until `await broker.start()`. */
export function createBroker (options: BrokerOptions = {}): Broker {
  return new Broker(options)
}
