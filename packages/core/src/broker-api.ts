import type { Duplex } from 'node:stream'
import type { BridgeStatus } from './bridges.js'
import type { ListenerAddress } from './listeners/types.js'
import type { ClientContext, ClientInfo, Message, QoS, SubscribeRequest } from './types.js'

export type BrokerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

export interface PublishOptions {
  qos?: QoS
  retain?: boolean
}

/** Handles a message from `broker.subscribe`. Errors it throws or rejects are logged, never propagated. */
export type MessageHandler = (message: Message) => void | Promise<void>

/** Removes an in-process subscription. */
export type Unsubscribe = () => Promise<void>

/** The events a broker emits, with their arguments. */
export interface BrokerEvents {
  clientConnected: [client: ClientContext]
  /**
   * `reason`: 'client sent DISCONNECT', 'keepalive timeout: …', 'taken over by a new connection with the
   * same client id', 'not reading fast enough: …', 'error: …', 'disconnected by the host app
   * (broker.disconnect)', 'broker stopping', or 'connection closed' (the socket just ended).
   */
  clientDisconnected: [client: ClientContext, reason: string]
  subscribed: [client: ClientContext, subscriptions: SubscribeRequest[]]
  unsubscribed: [client: ClientContext, filters: string[]]
  /** Every routed message; `client` is null for the host app's and the broker's own. */
  published: [message: Message, client: ClientContext | null]
  /** A CONNECT was refused, with its CONNACK code and the reason logged. */
  connectionRefused: [info: { clientId: string, username?: string, transport: string, remoteAddress?: string, returnCode: number, reason: string }]
  stateChanged: [state: BrokerState]
  /** A bridge (from a bridge plugin) connected, disconnected, was added or removed. */
  bridgeState: [status: BridgeStatus]
}

export interface HealthReport {
  status: 'ok' | 'unavailable'
  state: BrokerState
  id: string
  uptimeSeconds: number
  connections: number
  listeners: ListenerAddress[]
}

/**
 * The in-process API: what host-app code and plugins use. Host code needs no
 * aedes import.
 */
export interface BrokerApi {
  // publish, subscribe, retained and connectInProcess work from plugins' start() on (the core is up, listeners not yet).
  readonly id: string
  readonly state: BrokerState
  /** Publishes as the broker. Topic rules are checked; interceptors run; authorization does not (host code is trusted). */
  publish (topic: string, payload: string | Buffer | Uint8Array, options?: PublishOptions): Promise<void>
  /** Subscribes in process with MQTT wildcard semantics; resolves to an unsubscribe function. */
  subscribe (filter: string, handler: MessageHandler): Promise<Unsubscribe>
  /** The retained messages matching a filter. */
  retained (filter: string): AsyncIterable<Message>
  /** Connected clients. */
  clients (): ClientInfo[]
  /**
   * Closes one client's connection; resolves false if no such client is connected.
   * With `connectionId` (from ClientContext/ClientInfo), only that connection is
   * closed, never a newer one that took the client id over.
   */
  disconnect (clientId: string, options?: { connectionId?: string }): Promise<boolean>
  /** Forgets cached authorization decisions (one client's, or everyone's), e.g. after ACL rules change. */
  invalidateAuthorizations (clientId?: string): void
  /** Where the broker's own listeners are bound (host-server WebSocket mounts are the host's). */
  addresses (): ListenerAddress[]
  health (): HealthReport
  /**
   * Opens an MQTT connection inside the process: speak MQTT over the returned
   * stream (e.g. `new mqtt.MqttClient(() => broker.connectInProcess(), options)`).
   * Trusted like `publish`: no authenticator or authorizer is asked; the
   * slow-consumer bounds apply. Its clients show transport 'internal'.
   */
  connectInProcess (): Duplex
  /**
   * Adds a bridge to another broker, with the bridge plugin's options (see
   * @embedmq/bridge-mqtt). Rejects with EMBEDMQ_NO_BRIDGE_PLUGIN when no
   * plugin provides bridges.
   */
  bridge (spec: unknown): Promise<BridgeStatus>
  /** Stops and removes a bridge; false when there is none by that name. */
  unbridge (name: string): Promise<boolean>
  /** The bridges and their state. */
  bridges (): BridgeStatus[]
  on<E extends keyof BrokerEvents> (event: E, listener: (...args: BrokerEvents[E]) => void): this
  off<E extends keyof BrokerEvents> (event: E, listener: (...args: BrokerEvents[E]) => void): this
  once<E extends keyof BrokerEvents> (event: E, listener: (...args: BrokerEvents[E]) => void): this
}
