import { readFileSync } from 'node:fs'
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt'
import { topicMatches, type BridgeConnectionState, type BridgeStatus, type BrokerApi, type Logger, type QoS, type Unsubscribe } from '@embedmq/core'
import { Backoff } from './backoff.js'
import { compileMappings, lowerQos, subscriptionsFor, toLocal, toRemote, type Mapping } from './mapping.js'
import { HeldPubacks, sendConnectInBridgeMode } from './mqtt-internals.js'
import type { BridgeOptions } from './options.js'

/** What a bridge needs from its surroundings. */
export interface BridgeContext {
  broker: BrokerApi
  logger: Logger
  /** Resolves TLS file paths (relative to the config file). */
  resolvePath: (path: string) => string
  onStatus: (status: BridgeStatus) => void
}

/** The state topic a bridge publishes, retained. */
export function stateTopic (name: string): string {
  return `$SYS/bridges/${name}/state`
}

/** Whether the broker's in-process API is up (from plugins' start() until it stops). */
function usable (broker: BrokerApi): boolean {
  return broker.state === 'running' || broker.state === 'starting'
}

/** A URL fit for logs and status: no credentials. */
function displayUrl (url: string): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  return u.toString().replace(/\/$/, '')
}

/** CONNACK refusals in words a person can act on (mqtt.js' own messages are terse). */
function describeError (err: Error & { code?: string | number }): string {
  switch (err.code) {
    case 4: return 'the remote refused the connection: bad username or password'
    case 5: return 'the remote refused the connection: not authorized'
    case 2: return 'the remote refused the client id'
    case 3: return 'the remote broker is unavailable'
    case 'ECONNREFUSED': return `connection refused (${err.message})`
    case 'ENOTFOUND': case 'EAI_AGAIN': return `host not found (${err.message})`
    default: return err.message
  }
}

/**
 * One bridge: a persistent in-process session on the local broker (so
 * outgoing messages wait in the broker's own persistence while the remote is
 * away), and an mqtt.js client to the remote. Outgoing QoS 1/2 messages are
 * acknowledged locally only once the remote acknowledged them; incoming ones
 * are acknowledged to the remote only once the local broker stored them.
 * Both connections use bridge mode, so neither broker echoes the bridge's own
 * messages back: no loops with 'both' mappings.
 */
export class Bridge {
  readonly name: string
  readonly #options: BridgeOptions
  readonly #ctx: BridgeContext
  readonly #mappings: Mapping[]
  readonly #backoff: Backoff
  readonly #remoteUrl: string
  #state: BridgeConnectionState = 'connecting'
  #reason: string | undefined
  #since = new Date()
  #forwardedOut = 0
  #forwardedIn = 0
  #dropped = 0
  #stopped = false
  #remote: MqttClient | undefined
  #local: { client: MqttClient, pubacks: HeldPubacks } | undefined
  #localReady = false
  #lastError: string | undefined
  #reconnectTimer: NodeJS.Timeout | undefined
  #localRestartTimer: NodeJS.Timeout | undefined
  /** Outgoing QoS 1/2 messages sent to the remote and not yet acknowledged by it. */
  #inflight = 0
  /** Outgoing messages taken from the local session, waiting for room in the in-flight window. */
  readonly #waitingForRoom: Array<() => void> = []
  /** Work that needs the local session, run once it is connected. */
  readonly #whenLocal: Array<() => void> = []
  /** In-process subscriptions that count QoS 0 messages dropped while the remote is away. */
  #dropCounters: Unsubscribe[] | undefined

  constructor (options: BridgeOptions, ctx: BridgeContext) {
    this.name = options.name
    this.#options = options
    this.#ctx = ctx
    this.#mappings = compileMappings(options.topics)
    this.#backoff = new Backoff(options.reconnect)
    this.#remoteUrl = displayUrl(options.url)
  }

  status (): BridgeStatus {
    return {
      name: this.name,
      remote: this.#remoteUrl,
      state: this.#state,
      ...(this.#reason === undefined ? {} : { reason: this.#reason }),
      since: this.#since,
      forwarded: { out: this.#forwardedOut, in: this.#forwardedIn },
      dropped: this.#dropped
    }
  }

  /** Starts connecting; never waits for the remote (an unreachable one is retried in the background). */
  start (): void {
    this.#ctx.logger.info({ bridge: this.name, remote: this.#remoteUrl }, `bridge "${this.name}": connecting to ${this.#remoteUrl}`)
    this.#setState('connecting')
    this.#remote = this.#createRemote()
    this.#remote.connect()
    void this.#countDropsWhileAway()
  }

  /** Disconnects both sides; outgoing messages not yet acknowledged stay queued in the local session. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#reconnectTimer)
    clearTimeout(this.#localRestartTimer)
    this.#stopCountingDrops()
    const remote = this.#remote
    const local = this.#local?.client
    this.#remote = undefined
    this.#local = undefined
    await Promise.all([remote?.endAsync(true), local?.endAsync(true)].map(p => p?.catch(() => undefined)))
    this.#setState('stopped')
  }

  #tlsOptions (): Partial<IClientOptions> {
    const tls = this.#options.tls
    if (!tls) return {}
    // PEM text is used as is; anything else is a file path.
    const load = (value: string | undefined): string | undefined =>
      value === undefined ? undefined : value.includes('-----BEGIN') ? value : readFileSync(this.#ctx.resolvePath(value), 'utf8')
    const ca = load(tls.ca)
    const cert = load(tls.cert)
    const key = load(tls.key)
    return {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(tls.servername === undefined ? {} : { servername: tls.servername })
    }
  }

  #createRemote (): MqttClient {
    const o = this.#options
    const remote = mqtt.connect(o.url, {
      clientId: o.clientId ?? `embedmq-bridge-${o.name}-${this.#ctx.broker.id.slice(0, 8)}`,
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      clean: o.cleanSession,
      keepalive: o.keepaliveSeconds,
      connectTimeout: o.connectTimeoutMs,
      // Reconnects are ours: with backoff and jitter, and a state change for each.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      ...this.#tlsOptions()
    })
    if (o.tryPrivate) sendConnectInBridgeMode(remote)
    remote.handleMessage = (packet, callback) => { this.#fromRemote(packet, callback) }
    remote.on('connect', () => { this.#onRemoteConnected(remote) })
    remote.on('error', (err: Error & { code?: string | number }) => { this.#lastError = describeError(err) })
    remote.on('close', () => { this.#onRemoteClosed(remote) })
    return remote
  }

  #onRemoteConnected (remote: MqttClient): void {
    if (remote !== this.#remote) return
    this.#backoff.reset()
    this.#lastError = undefined
    this.#ctx.logger.info({ bridge: this.name, remote: this.#remoteUrl }, `bridge "${this.name}": connected to ${this.#remoteUrl}`)
    this.#setState('connected')
    const subs = subscriptionsFor(this.#mappings, 'remote')
    if (Object.keys(subs).length > 0) {
      remote.subscribe(subs, (err, granted) => {
        const refused = (granted ?? []).filter(g => g.qos === 128).map(g => g.topic)
        if (err || refused.length > 0) {
          this.#ctx.logger.error({ bridge: this.name, err: err?.message, refused },
            `bridge "${this.name}": the remote refused the subscription to ${refused.join(', ') || 'the incoming topics'}${err ? ` (${err.message})` : ''}; check the remote's ACL for this bridge's user`)
        }
      })
    }
    this.#startLocal()
  }

  #onRemoteClosed (remote: MqttClient): void {
    if (remote !== this.#remote || this.#stopped) return
    const reason = this.#lastError ?? 'connection closed'
    const delay = this.#backoff.next()
    if (this.#state === 'connected') {
      this.#ctx.logger.warn({ bridge: this.name, remote: this.#remoteUrl, reason, retryInMs: delay },
        `bridge "${this.name}": lost ${this.#remoteUrl}: ${reason}; outgoing QoS 1/2 messages wait in the local session; reconnecting in ${delay} ms`)
    } else {
      this.#ctx.logger.warn({ bridge: this.name, remote: this.#remoteUrl, reason, retryInMs: delay },
        `bridge "${this.name}": cannot connect to ${this.#remoteUrl}: ${reason}; retrying in ${delay} ms`)
    }
    this.#setState('disconnected', reason)
    this.#pauseLocal()
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => {
      if (this.#stopped || remote !== this.#remote) return
      this.#setState('connecting', reason)
      remote.reconnect()
    }, delay)
  }

  /** The local side: a persistent, bridge-mode, in-process session subscribed to the outgoing filters. */
  #startLocal (): void {
    if (this.#local || this.#stopped) return
    const client = new mqtt.MqttClient(() => this.#ctx.broker.connectInProcess(), {
      clientId: `$bridge/${this.name}`,
      clean: false,
      keepalive: 0,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      protocolVersion: 4
    })
    sendConnectInBridgeMode(client)
    const pubacks = new HeldPubacks(client)
    const local = { client, pubacks }
    this.#local = local
    this.#localReady = false
    client.handleMessage = (packet, callback) => { this.#fromLocal(local, packet, callback) }
    client.on('connect', () => {
      if (this.#local !== local) return
      // Up to QoS 1 here: the local hop is in process; QoS 2 toward the remote is the remote hop's business.
      const subs = Object.fromEntries(Object.entries(subscriptionsFor(this.#mappings, 'local')).map(([f, s]) => [f, { qos: lowerQos(s.qos, 1) }]))
      const ready = (): void => {
        this.#localReady = true
        this.#stopCountingDrops()
        for (const run of this.#whenLocal.splice(0)) run()
      }
      if (Object.keys(subs).length === 0) { ready(); return }
      client.subscribe(subs, (err) => {
        if (err) this.#ctx.logger.error({ bridge: this.name, err: err.message }, `bridge "${this.name}": local subscription failed: ${err.message}`)
        ready()
      })
    })
    client.on('error', (err) => {
      this.#ctx.logger.warn({ bridge: this.name, err: err.message }, `bridge "${this.name}": local session error: ${err.message}`)
    })
    client.on('close', () => {
      if (this.#local !== local) return
      // Closed by the broker (e.g. stopping, or a slow-consumer bound): start again while the remote is there.
      this.#local = undefined
      this.#localReady = false
      this.#releaseWaiting()
      if (this.#stopped || this.#state !== 'connected') return
      clearTimeout(this.#localRestartTimer)
      this.#localRestartTimer = setTimeout(() => this.#startLocal(), 1000)
    })
    client.connect()
  }

  /** The remote went away: stop taking messages; from now on they wait in the local session's queue. */
  #pauseLocal (): void {
    const local = this.#local
    this.#local = undefined
    this.#localReady = false
    this.#releaseWaiting()
    clearTimeout(this.#localRestartTimer)
    // Unacknowledged messages stay in the session and come again when it reconnects.
    local?.client.end(true)
    void this.#countDropsWhileAway()
  }

  #releaseWaiting (): void {
    // Not sent and not acknowledged locally: they come again when the local session reconnects.
    this.#waitingForRoom.length = 0
  }

  /** A local message to forward to the remote. */
  #fromLocal (local: { client: MqttClient, pubacks: HeldPubacks }, packet: IPublishPacket, callback: (err?: Error) => void): void {
    const route = toRemote(this.#mappings, packet.topic)
    const remote = this.#remote
    if (!route || !remote) { callback(); return }
    const qos = lowerQos(route.qos, packet.qos)
    const options = { qos, retain: packet.retain }
    if (qos === 0) {
      if (remote.connected) {
        remote.publish(route.topic, packet.payload as Buffer, options)
        this.#forwardedOut++
      } else {
        this.#dropped++
      }
      callback()
      return
    }
    const messageId = packet.messageId
    // Acknowledged locally only once the remote has it; mqtt.js may go on meanwhile.
    if (messageId !== undefined && packet.qos > 0) local.pubacks.hold(messageId)
    const send = (): void => {
      this.#inflight++
      remote.publish(route.topic, packet.payload as Buffer, options, (err) => {
        this.#inflight--
        if (err) {
          // The remote client is closing; the message stays unacknowledged locally and comes again.
          this.#ctx.logger.debug({ bridge: this.name, topic: packet.topic, err: err.message }, 'outgoing message not acknowledged by the remote')
        } else {
          this.#forwardedOut++
          if (messageId !== undefined) local.pubacks.release(messageId)
        }
        if (this.#inflight < this.#options.maxInflight && remote.connected) this.#waitingForRoom.shift()?.()
      })
    }
    if (this.#inflight < this.#options.maxInflight) send()
    else this.#waitingForRoom.push(send)
    callback()
  }

  /** A remote message to publish here; acknowledged to the remote once the local broker has it. */
  #fromRemote (packet: IPublishPacket, callback: (err?: Error) => void): void {
    const route = toLocal(this.#mappings, packet.topic)
    if (!route) { callback(); return }
    const qos = lowerQos(route.qos, packet.qos)
    const attempt = (): void => {
      const local = this.#local
      if (!local || !this.#localReady) { this.#whenLocal.push(attempt); return }
      local.client.publish(route.topic, packet.payload as Buffer, { qos, retain: packet.retain }, (err) => {
        if (err) { this.#whenLocal.push(attempt); return } // the local session restarted: publish again on the next one
        this.#forwardedIn++
        callback()
      })
    }
    attempt()
  }

  /**
   * While the remote is away the local session is offline: QoS 1/2 messages
   * queue in it, QoS 0 ones are not kept (MQTT). Count those, so the drop is
   * visible (`status().dropped`), with one log line per outage.
   */
  async #countDropsWhileAway (): Promise<void> {
    if (this.#dropCounters !== undefined || this.#stopped || this.#localReady || !usable(this.#ctx.broker)) return
    const filters = Object.keys(subscriptionsFor(this.#mappings, 'local'))
    const outage = { dropped: 0 }
    const count = (topic: string, messageQos: QoS): void => {
      const route = toRemote(this.#mappings, topic)
      if (!route || lowerQos(route.qos, messageQos) > 0) return
      this.#dropped++
      if (outage.dropped++ === 0) {
        this.#ctx.logger.warn({ bridge: this.name, topic }, `bridge "${this.name}": remote unavailable; dropping QoS 0 messages for it (counted in the bridge status)`)
      }
    }
    const subscriptions: Unsubscribe[] = []
    this.#dropCounters = subscriptions
    for (const filter of filters) {
      try {
        subscriptions.push(await this.#ctx.broker.subscribe(filter, (m) => {
          // Overlapping filters see one message twice; the first filter that matches counts it.
          if (filters.find(f => topicMatches(f, m.topic)) !== filter) return
          count(m.topic, m.qos)
        }))
      } catch {
        // The broker is not running yet (plugin start) or is stopping: nothing is routed then anyway.
      }
    }
    // Stopped counting while subscribing: undo what was set up.
    if (this.#dropCounters !== subscriptions) for (const unsubscribe of subscriptions) void unsubscribe().catch(() => undefined)
  }

  #stopCountingDrops (): void {
    const subscriptions = this.#dropCounters ?? []
    this.#dropCounters = undefined
    for (const unsubscribe of subscriptions) void unsubscribe().catch(() => undefined)
  }

  #setState (state: BridgeConnectionState, reason?: string): void {
    const changed = state !== this.#state || reason !== this.#reason
    this.#state = state
    this.#reason = state === 'connected' ? undefined : reason
    if (!changed) return
    this.#since = new Date()
    const status = this.status()
    this.#ctx.onStatus(status)
    this.#publishState(status)
  }

  #publishState (status: BridgeStatus): void {
    if (!usable(this.#ctx.broker)) return
    const payload = JSON.stringify({ state: status.state, ...(status.reason === undefined ? {} : { reason: status.reason }), remote: status.remote, since: status.since.toISOString() })
    this.#ctx.broker.publish(stateTopic(this.name), payload, { qos: 1, retain: true }).catch((err: Error) => {
      this.#ctx.logger.debug({ bridge: this.name, err: err.message }, 'bridge state not published')
    })
  }

}
