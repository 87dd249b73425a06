/**
 * The only module that imports aedes. It adapts aedes' callback hooks and
 * events to CoreHooks (embedmq's own types), so moving to aedes 2.x (MQTT 5)
 * means changing this file, not the broker.
 */
import { randomUUID } from 'node:crypto'
import { Readable, type Duplex } from 'node:stream'
import memoryPersistence from 'aedes-persistence'
import { Aedes, type AedesPublishPacket, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes'
import type { Limits } from './config/schema.js'
import { toMessage, type CoreHooks, type PublishVerdict } from './core-hooks.js'
import { adoptConnection } from './packet-writer.js'
import { neverWaitForDrain, OutboundGate, SlowConsumerError, type InboundGuard } from './edge/index.js'
import type { ConnectionMeta } from './listeners/types.js'
import type { Logger } from './logger.js'
import { isThenable } from './maybe-promise.js'
import type { MaybePromise } from './plugins/extensions.js'
import { capQueuedMessages } from './queue-cap.js'
import { Session } from './session.js'
import { topicMatches } from './topic.js'
import type { ClientInfo, ConnectInput, Message, QoS, SubscribeRequest } from './types.js'

/** Where dropped publishes go: acknowledged as MQTT requires, delivered to no one. */
export const SINK_TOPIC = '$embedmq/dropped'
/** Topic prefixes clients may not publish to. */
const RESERVED_PUBLISH_PREFIXES = ['$SYS/', '$embedmq/']
const EMPTY = Buffer.alloc(0)

/** Settles a MaybePromise into a callback, turning a throw or rejection into `onError`. */
function settle<T> (compute: () => MaybePromise<T>, onValue: (value: T) => void, onError: (err: unknown) => void): void {
  let value: MaybePromise<T>
  try {
    value = compute()
  } catch (err) {
    onError(err)
    return
  }
  if (isThenable(value)) value.then(onValue, onError)
  else onValue(value)
}

/**
 * Checks a raw socket's inbound bytes before aedes' parser buffers them (see
 * InboundGuard), and holds off reading while the connection is over its rate:
 * the unread bytes stay in the socket, which is backpressure on that client only.
 */
function guardReads (stream: Duplex, guard: InboundGuard): void {
  const read = stream.read
  let held = false
  stream.read = function guardedRead (this: Duplex, size?: number) {
    if (held) return null
    const wait = guard.throttleMs()
    if (wait > 0) {
      held = true
      setTimeout(() => {
        held = false
        // aedes pulls on 'readable'; nothing new may arrive while we held off, so nudge it.
        if (!this.destroyed) this.emit('readable')
      }, wait).unref()
      return null
    }
    const chunk: unknown = read.call(this, size)
    if (!Buffer.isBuffer(chunk)) return chunk
    const violation = guard.inspect(chunk)
    if (violation !== undefined) {
      this.destroy(new Error(violation))
      return null
    }
    const cut = guard.takeCut()
    if (cut === undefined) return chunk
    // Over its message rate: the rest goes back to the socket's buffer, read again after the hold-off.
    this.unshift(chunk.subarray(cut))
    return cut === 0 ? null : chunk.subarray(0, cut)
  } as typeof stream.read
}

/**
 * A bridge must see whether a message was published retained, or the remote's
 * retained copy goes stale: bridge-mode clients' subscriptions get MQTT 5's
 * retain-as-published (aedes honours `rap`), as Mosquitto does for bridges.
 * Set on the parsed SUBSCRIBE before aedes handles it; installed at CONNECT.
 */
function retainAsPublishedForBridges (client: Client): void {
  const parser = (client as unknown as { _parser?: { prependListener: (event: 'packet', fn: (packet: { cmd: string, subscriptions?: Array<{ rap?: boolean }> }) => void) => void } })._parser
  parser?.prependListener('packet', (packet) => {
    if (packet.cmd === 'subscribe') for (const sub of packet.subscriptions ?? []) sub.rap = true
  })
}

/** The highest QoS the client's subscriptions grant for a topic (undefined when none matches). */
function grantedQos (client: Client, topic: string): QoS | undefined {
  const subscriptions = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions
  let best: number | undefined
  for (const filter in subscriptions) {
    if (topicMatches(filter, topic)) best = Math.max(best ?? 0, subscriptions[filter]!.qos)
  }
  return best as QoS | undefined
}

const AUTHORIZATION_FAILED: PublishVerdict = Object.freeze({ action: 'drop', reason: 'authorization failed' })

/** Applies the broker's decision to an inbound PUBLISH, in place, and lets aedes go on. */
function applyVerdict (p: { topic: string, payload: Buffer, retain: boolean }, verdict: PublishVerdict, callback: (error: Error | null) => void): void {
  switch (verdict.action) {
    case 'deliver': {
      // The inbound QoS stays: it decides the client's handshake (PUBACK/PUBREC), which a rewrite must not break.
      const m = verdict.message
      p.topic = m.topic
      p.payload = m.payload
      p.retain = m.retain
      callback(null)
      return
    }
    case 'drop':
      p.topic = SINK_TOPIC
      p.payload = EMPTY
      p.retain = false
      callback(null)
      return
    case 'disconnect':
      callback(new Error(verdict.reason))
  }
}

class RefusedConnect extends Error {
  constructor (readonly returnCode: number, message: string) { super(message) }
}

export interface AedesCoreOptions {
  id?: string
  limits: Limits
  heartbeatIntervalMs: number
  /** An aedes-persistence 11 store; in-memory when left out. */
  persistence?: object
  /** An mqemitter-compatible bus; in-process when left out. */
  emitter?: object
  hooks: CoreHooks
  logger: Logger
}

interface AedesPersistenceLike {
  destroy?: () => unknown
  createRetainedStream?: (pattern: string) => AsyncIterable<AedesPublishPacket>
}

export class AedesCore {
  readonly #aedes: Aedes
  readonly #sessions = new WeakMap<Client, Session>()
  readonly #hooks: CoreHooks
  readonly #outgoing: Limits['outgoing']

  private constructor (aedes: Aedes, options: AedesCoreOptions) {
    this.#aedes = aedes
    this.#hooks = options.hooks
    this.#outgoing = options.limits.outgoing
    this.#trackQos2Releases()
    this.#repairQos2Persistence()
    this.#wireHooks(options.limits)
    this.#wireEvents()
  }

  static async create (options: AedesCoreOptions): Promise<AedesCore> {
    let persistence = options.persistence
    if (persistence === undefined) {
      // A CommonJS module.exports function, which TypeScript types as the module namespace.
      const memory = (memoryPersistence as unknown as () => object)()
      if (options.limits.maxQueuedPerSession > 0) capQueuedMessages(memory as never, options.limits.maxQueuedPerSession, options.logger)
      persistence = memory
    }
    const aedes = await Aedes.createBroker({
      ...(options.id === undefined ? {} : { id: options.id }),
      persistence,
      ...(options.emitter === undefined ? {} : { mq: options.emitter }),
      // No emitter queue: embedmq's connection writes never wait (see edge/outbound-limiter.ts), and
      // mqemitter's bounded queue was both slow (Array.shift on thousands of entries) and, released
      // after a subscriber left, recursed until the stack overflowed.
      concurrency: 0,
      connectTimeout: options.limits.connectTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxClientsIdLength: options.limits.maxClientIdLength,
      maxTopicLevels: options.limits.maxTopicLevels,
      maxInflightInbound: options.limits.maxInflightInbound,
      queueLimit: options.limits.queueLimit
    })
    return new AedesCore(aedes, options)
  }

  get id (): string { return this.#aedes.id }
  get connectedClients (): number { return this.#aedes.connectedClients }

  /**
   * Hands an accepted connection to aedes. `guard` checks raw inbound bytes
   * (streams that check their own, like the WebSocket adapter, pass none);
   * outbound, every connection gets the slow-consumer bound.
   */
  handle (stream: Duplex, meta: ConnectionMeta, guard?: InboundGuard): void {
    const session = new Session(meta, new OutboundGate(this.#outgoing))
    if (guard) guardReads(stream, guard)
    neverWaitForDrain(stream)
    adoptConnection(stream, session.pubacks)
    const client = this.#aedes.handle(stream, meta.request)
    this.#sessions.set(client, session)
  }

  /** Publishes as the broker itself (no client), e.g. from the host app. */
  publish (message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#aedes.publish({
        cmd: 'publish', topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, dup: false
      } as PublishPacket, (err?: Error) => { if (err) reject(err); else resolve() })
    })
  }

  /**
   * Calls `deliver` for every message matching `filter` (MQTT wildcards).
   * Delivery never waits on `deliver`: a slow in-process subscriber cannot
   * hold up routing. Topics starting with '$' are not matched by filters
   * starting with a wildcard (MQTT-4.7.2-1).
   */
  async subscribe (filter: string, deliver: (message: Message) => void): Promise<() => Promise<void>> {
    const wildcardFirst = filter.startsWith('+') || filter.startsWith('#')
    const onPacket = (packet: AedesPublishPacket, cb: () => void): void => {
      cb()
      if (packet.topic.startsWith('$') && (wildcardFirst || packet.topic.startsWith(SINK_TOPIC))) return
      deliver(toMessage(packet))
    }
    await new Promise<void>((resolve, reject) => {
      this.#aedes.subscribe(filter, onPacket, (err?: Error) => { if (err) reject(err); else resolve() })
    })
    return () => new Promise<void>((resolve) => { this.#aedes.unsubscribe(filter, onPacket, () => resolve()) })
  }

  /** Retained messages matching a filter, from the persistence. */
  async * retained (filter: string): AsyncIterable<Message> {
    const store = (this.#aedes as unknown as { persistence: AedesPersistenceLike }).persistence
    if (!store.createRetainedStream) return
    for await (const packet of store.createRetainedStream(filter)) yield toMessage(packet)
  }

  /** Connected clients with their sessions. */
  * connected (): Iterable<{ session: Session, info: ClientInfo, writableLength: number }> {
    for (const client of Object.values((this.#aedes as unknown as { clients: Record<string, Client> }).clients)) {
      const session = this.#sessions.get(client)
      // Listed once authenticated and registered, which is before its CONNACK is written
      // (aedes sets `connected` only after sending queued messages).
      const authorized = (client as unknown as { _authorized: boolean })._authorized
      if (!session || !authorized || client.closed) continue
      const subs = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions
      yield {
        session,
        writableLength: client.conn.writableLength,
        info: {
          id: client.id,
          connectionId: session.connectionId,
          ...(session.identity.username === undefined ? {} : { username: session.identity.username }),
          roles: session.identity.roles,
          authenticatedBy: session.identity.authenticatedBy,
          transport: session.meta.transport,
          listener: session.meta.listener,
          ...(session.meta.remoteAddress === undefined ? {} : { remoteAddress: session.meta.remoteAddress }),
          connectedAt: session.connectedAt,
          clean: client.clean,
          bridgeMode: session.bridgeMode,
          subscriptions: Object.entries(subs).map(([filter, s]) => ({ filter, qos: s.qos as QoS })),
          droppedMessages: session.outbound.dropped
        }
      }
    }
  }

  /**
   * Closes one client's connection (its will is published, as for any abrupt
   * end). With `connectionId`, only if that connection still holds the id.
   */
  disconnect (clientId: string, connectionId?: string): Promise<boolean> {
    const client = (this.#aedes as unknown as { clients: Record<string, Client> }).clients[clientId]
    if (!client) return Promise.resolve(false)
    if (connectionId !== undefined && this.#sessions.get(client)?.connectionId !== connectionId) return Promise.resolve(false)
    this.#sessions.get(client)?.noteClose('disconnected by the host app (broker.disconnect)')
    return new Promise(resolve => client.close(() => resolve(true)))
  }

  /** Closes every client and the bus, then the persistence. */
  async close (): Promise<void> {
    for (const { session } of this.connected()) session.noteClose('broker stopping')
    await new Promise<void>(resolve => this.#aedes.close(() => resolve()))
    const store = (this.#aedes as unknown as { persistence?: AedesPersistenceLike }).persistence
    // persistence.destroy(cb) never calls back under aedes 1.x; the promise form does.
    if (store?.destroy) await store.destroy()
  }

  /**
   * Forgets a QoS 2 packet id once the client released it (PUBREL): aedes
   * deletes the stored incoming packet then, so that is where we listen.
   */
  #trackQos2Releases (): void {
    const store = (this.#aedes as unknown as { persistence: { incomingDelPacket: (client: Client, packet: { messageId: number }) => Promise<void> } }).persistence
    const incomingDelPacket = store.incomingDelPacket.bind(store)
    store.incomingDelPacket = (client, packet) => {
      this.#sessions.get(client)?.released(packet.messageId)
      return incomingDelPacket(client, packet)
    }
  }

  /**
   * Two aedes 1.2 QoS 2 faults, mended at the persistence boundary (found by the soak test; they
   * lose messages of persistent sessions):
   * - a PUBREL carries no brokerId/brokerCounter, so the store's outgoingUpdate matched a *stored
   *   PUBREL* of another packet id and overwrote it: give each PUBREL a stable identity of its own;
   * - messages queued while a session was offline were replayed at their publish QoS, not the
   *   subscription's: a QoS 2 message to a QoS 1 subscription then waited for a PUBREC-PUBREL
   *   exchange the client never completes. Replay them at the granted QoS (MQTT-3.8.4-6).
   */
  #repairQos2Persistence (): void {
    type Store = {
      outgoingUpdate: (client: Client, packet: { cmd: string, messageId?: number, brokerId?: string, brokerCounter?: number }) => Promise<void>
      outgoingStream: (client: Client) => AsyncIterable<AedesPublishPacket & { cmd: string }>
    }
    const store = (this.#aedes as unknown as { persistence: Store }).persistence
    const outgoingUpdate = store.outgoingUpdate.bind(store)
    store.outgoingUpdate = (client, packet) => outgoingUpdate(client,
      packet.cmd === 'pubrel' && packet.brokerId === undefined ? { ...packet, brokerId: '$pubrel', brokerCounter: packet.messageId ?? 0 } : packet)
    const outgoingStream = store.outgoingStream.bind(store)
    store.outgoingStream = (client) => Readable.from((async function * () {
      for await (const packet of outgoingStream(client)) {
        const granted = packet.cmd === 'publish' && packet.qos === 2 ? grantedQos(client, packet.topic) : undefined
        yield granted !== undefined && granted < packet.qos ? { ...packet, qos: granted } : packet
      }
    })())
  }

  #session (client: Client): Session {
    let session = this.#sessions.get(client)
    if (!session) {
      // Clients always come through handle(); this is only a fallback for safety.
      session = new Session({ transport: 'tcp', listener: 'unknown' }, new OutboundGate(this.#outgoing))
      this.#sessions.set(client, session)
    }
    return session
  }

  #wireHooks (limits: Limits): void {
    const aedes = this.#aedes
    const hooks = this.#hooks
    const pendingConnects = new WeakMap<Session, ConnectInput>()

    aedes.preConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) => {
      const session = this.#session(client)
      const p = packet as ConnectPacket & { protocolVersion: number, keepalive: number, clean: boolean, bridgeMode?: boolean }
      session.bridgeMode = p.bridgeMode === true
      // Only bridges get the extra parser listener (two listeners make every emit copy the listener list).
      if (session.bridgeMode) retainAsPublishedForBridges(client)
      if (p.clientId === '') {
        // MQTT-3.1.3-8: a zero-byte client id needs CleanSession=1.
        if (!p.clean) session.refusal = 2
        else p.clientId = `embedmq-${randomUUID()}`
      } else if (p.clientId.length > limits.maxClientIdLength) {
        session.refusal = 2
      }
      if (limits.maxKeepaliveSeconds > 0 && (p.keepalive === 0 || p.keepalive > limits.maxKeepaliveSeconds)) {
        // MQTT 3.1.1 cannot tell a client which keepalive to use; Mosquitto answers 0x02 too.
        session.refusal = 2
      }
      const input: ConnectInput = {
        clientId: p.clientId,
        connectionId: session.connectionId,
        protocolVersion: p.protocolVersion,
        bridgeMode: session.bridgeMode,
        clean: p.clean,
        keepalive: p.keepalive,
        transport: session.meta.transport,
        listener: session.meta.listener,
        ...(p.username === undefined ? {} : { username: p.username }),
        ...(p.password === undefined ? {} : { password: Buffer.isBuffer(p.password) ? p.password : Buffer.from(p.password) }),
        ...(session.meta.remoteAddress === undefined ? {} : { remoteAddress: session.meta.remoteAddress }),
        ...(session.meta.remotePort === undefined ? {} : { remotePort: session.meta.remotePort }),
        ...(session.meta.request === undefined ? {} : { request: session.meta.request }),
        ...(session.meta.peerCertificate === undefined ? {} : { peerCertificate: session.meta.peerCertificate }),
        ...(session.meta.peerCertificateAuthorized === undefined ? {} : { peerCertificateAuthorized: session.meta.peerCertificateAuthorized })
      }
      pendingConnects.set(session, input)
      callback(null, true)
    }

    aedes.authenticate = (client, _username, _password, callback) => {
      const session = this.#session(client)
      const input = pendingConnects.get(session)
      pendingConnects.delete(session)
      const refuse = (code: number, why: string): void => {
        callback(Object.assign(new RefusedConnect(code, why), { returnCode: code }) as never, false)
      }
      if (session.refusal !== undefined || !input) {
        refuse(session.refusal ?? 2, 'identifier rejected')
        return
      }
      settle(() => hooks.connect(session, input),
        (code) => {
          if (code !== 0) { refuse(code, 'connection refused'); return }
          // aedes closes an older connection with this client id next: tell its session why.
          const older = (this.#aedes as unknown as { clients: Record<string, Client> }).clients[input.clientId]
          if (older !== undefined && older !== client) this.#sessions.get(older)?.noteClose('taken over by a new connection with the same client id')
          callback(null, true)
        },
        () => refuse(3, 'server unavailable'))
    }

    aedes.authorizePublish = (client, packet, callback) => {
      if (client === null) { callback(null); return } // a will left by a broker that died
      const p = packet as PublishPacket & { payload: Buffer, qos: QoS, messageId?: number }
      const session = this.#session(client)
      if (p.qos === 1) session.pubacks.expect(p.messageId)
      if (p.qos === 2 && p.messageId !== undefined) {
        // MQTT-4.3.3-2: a PUBLISH whose packet id still awaits PUBREL is acknowledged
        // again, never delivered again. aedes' own duplicate check is asynchronous,
        // so copies arriving in one read could all pass it; this set is checked
        // synchronously, in arrival order.
        if (session.awaitsRelease(p.messageId)) {
          p.topic = SINK_TOPIC
          p.payload = EMPTY
          p.retain = false
          callback(null)
          return
        }
        session.acknowledgedQos2(p.messageId)
      }
      if (p.topic.charCodeAt(0) === 0x24 /* $ */ && RESERVED_PUBLISH_PREFIXES.some(prefix => p.topic.startsWith(prefix))) {
        callback(new Error(`clients may not publish to ${p.topic.split('/')[0]}/ topics`))
        return
      }
      // No closures on the common (synchronous) path: this runs for every inbound PUBLISH.
      let verdict: MaybePromise<PublishVerdict>
      try {
        verdict = hooks.authorizePublish(session, toMessage(p))
      } catch {
        applyVerdict(p, AUTHORIZATION_FAILED, callback)
        return
      }
      if (isThenable(verdict)) verdict.then(v => applyVerdict(p, v, callback), () => applyVerdict(p, AUTHORIZATION_FAILED, callback))
      else applyVerdict(p, verdict, callback)
    }

    aedes.authorizeSubscribe = (client, sub: Subscription, callback) => {
      if (sub.topic.startsWith('$embedmq/')) { callback(null, null); return }
      const held = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions
      if (!(sub.topic in held) && Object.keys(held).length >= limits.maxSubscriptionsPerClient) {
        hooks.connectionError(this.#session(client), new Error(`subscription to "${sub.topic}" refused: limits.maxSubscriptionsPerClient (${limits.maxSubscriptionsPerClient}) reached`))
        callback(null, null)
        return
      }
      settle(() => hooks.authorizeSubscribe(this.#session(client), { filter: sub.topic, qos: sub.qos as QoS }),
        (allowed) => callback(null, allowed ? sub : null),
        () => callback(null, null))
    }

    // Called once per delivery, before anything is written: the place to keep a
    // slow client's backlog bounded and to apply read authorization.
    aedes.authorizeForward = (client, packet) => {
      if (packet.topic === SINK_TOPIC) return null
      const session = this.#session(client)
      // A bridge never gets its own messages back (Mosquitto's try_private): no loop through a remote.
      if (session.bridgeMode && (packet as { clientId?: string }).clientId === client.id) return null
      const conn = client.conn
      switch (session.outbound.admit(conn, packet.qos)) {
        case 'drop':
          hooks.outboundDropped(session, session.outbound.dropped)
          return null
        case 'disconnect':
          if (!conn.destroyed) {
            const reason = session.outbound.overflowReason(conn)
            hooks.outboundOverflow(session, reason)
            session.noteClose(`not reading fast enough: ${reason}`)
            conn.destroy(new SlowConsumerError(reason))
          }
          return null
      }
      if (!hooks.canRead(session, packet.topic)) return null
      // aedes downgrades only for a subscription to the exact topic; a wildcard one got QoS 2 it never asked for.
      if (packet.qos === 2) {
        const granted = grantedQos(client, packet.topic)
        if (granted !== undefined && granted < 2) return { ...packet, qos: granted } as AedesPublishPacket
      }
      return packet
    }

    aedes.published = (packet, client, callback) => {
      // `packet` is the client's own (with its packet id): the routed message is stored now, so its PUBACK may go.
      if (client !== null && packet.qos === 1) this.#session(client).pubacks.routed((packet as { messageId?: number }).messageId)
      if (packet.topic !== SINK_TOPIC) {
        hooks.published(client ? this.#session(client) : null, packet)
      }
      callback(null)
    }
  }

  #wireEvents (): void {
    const aedes = this.#aedes
    const hooks = this.#hooks
    aedes.on('clientReady', (client) => {
      const session = this.#session(client)
      session.connectedAt = new Date()
      hooks.connected(session)
    })
    aedes.on('clientDisconnect', (client) => {
      const session = this.#session(client)
      if ((client as unknown as { _disconnected?: boolean })._disconnected === true) session.noteClose('client sent DISCONNECT')
      hooks.disconnected(session)
    })
    aedes.on('keepaliveTimeout', (client: Client) => {
      this.#session(client).noteClose('keepalive timeout: nothing received within 1.5 keepalive periods')
    })
    aedes.on('subscribe', (subs, client) => {
      hooks.subscribed(this.#session(client), subs.map(s => ({ filter: s.topic, qos: s.qos as QoS } satisfies SubscribeRequest)))
    })
    aedes.on('unsubscribe', (filters, client) => hooks.unsubscribed(this.#session(client), filters))
    // A refused CONNECT was already reported by the connect hook.
    const onError = (client: Client, err: Error): void => {
      if (err instanceof RefusedConnect) return
      const session = this.#session(client)
      session.noteClose(`error: ${err.message}`)
      hooks.connectionError(session, err)
    }
    aedes.on('clientError', onError)
    aedes.on('connectionError', onError)
  }
}
