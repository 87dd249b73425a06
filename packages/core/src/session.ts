import { PendingPubacks } from './durable-acks.js'
import type { OutboundGate } from './edge/outbound-limiter.js'
import type { ConnectionMeta } from './listeners/types.js'
import type { ClientContext, Identity } from './types.js'

const ANONYMOUS: Identity = Object.freeze({ roles: [], claims: {}, authenticatedBy: 'anonymous' }) as Identity

/**
 * What the broker keeps about one connection beyond what aedes keeps:
 * where it came from, who it is, and its cached authorization decisions.
 */
let connections = 0

export class Session {
  /** Unique per connection (a client id can be taken over by a newer connection). */
  readonly connectionId = `conn-${(++connections).toString(36)}`
  clientId = ''
  identity: Identity = ANONYMOUS
  connectedAt = new Date()
  /** Connected with the bridge bit in its protocol level (see ConnectInput.bridgeMode). */
  bridgeMode = false
  /** Why the connection ended, once known: the first cause noted wins. */
  closeReason: string | undefined
  /** Set by the CONNECT check when the client must be refused with this CONNACK code. */
  refusal: number | undefined
  /** Cached authorization decisions. Emptied on invalidate; dropped with the session. */
  readonly authorizations = new DecisionCache()
  /** Inbound QoS 2 packet ids acknowledged with PUBREC and not yet released (PUBREL); made on first use. */
  #awaitingRelease: Set<number> | undefined
  #context: ClientContext | undefined

  /** QoS 1 acknowledgements held until their message is stored and routed. */
  readonly pubacks = new PendingPubacks()

  constructor (readonly meta: ConnectionMeta, readonly outbound: OutboundGate) {}

  /** The read-only view authorizers and listeners get; built once per authenticated identity. */
  get context (): ClientContext {
    this.#context ??= {
      clientId: this.clientId,
      connectionId: this.connectionId,
      identity: this.identity,
      transport: this.meta.transport,
      listener: this.meta.listener,
      ...(this.meta.remoteAddress === undefined ? {} : { remoteAddress: this.meta.remoteAddress })
    }
    return this.#context
  }

  /** Notes why the connection is ending, unless a cause was noted already. */
  noteClose (reason: string): void {
    this.closeReason ??= reason
  }

  /** Whether an inbound QoS 2 packet id was acknowledged and not yet released. */
  awaitsRelease (messageId: number): boolean {
    return this.#awaitingRelease?.has(messageId) === true
  }

  acknowledgedQos2 (messageId: number): void {
    (this.#awaitingRelease ??= new Set()).add(messageId)
  }

  released (messageId: number): void {
    this.#awaitingRelease?.delete(messageId)
  }

  authenticated (clientId: string, identity: Identity): void {
    this.clientId = clientId
    this.identity = identity
    this.#context = undefined
  }
}

export type AuthorizationAction = 'publish' | 'subscribe' | 'read'

/**
 * Authorization decisions of one client, by action and topic. A map per
 * action (made on first use) keeps lookups to one string key, with no key
 * building on the publish path. Bounded: when full, it starts over.
 */
export class DecisionCache {
  #publish: Map<string, boolean> | undefined
  #subscribe: Map<string, boolean> | undefined
  #read: Map<string, boolean> | undefined
  #size = 0

  #map (action: AuthorizationAction): Map<string, boolean> | undefined {
    return action === 'publish' ? this.#publish : action === 'read' ? this.#read : this.#subscribe
  }

  get (action: AuthorizationAction, topic: string): boolean | undefined {
    return this.#map(action)?.get(topic)
  }

  set (action: AuthorizationAction, topic: string, allowed: boolean, maxEntries: number): void {
    if (this.#size >= maxEntries) this.clear()
    let map = this.#map(action)
    if (!map) {
      map = new Map()
      if (action === 'publish') this.#publish = map
      else if (action === 'read') this.#read = map
      else this.#subscribe = map
    }
    if (!map.has(topic)) this.#size++
    map.set(topic, allowed)
  }

  clear (): void {
    this.#publish = this.#subscribe = this.#read = undefined
    this.#size = 0
  }

  get size (): number { return this.#size }
}
