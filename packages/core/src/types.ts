import type { IncomingMessage } from 'node:http'
import type { PeerCertificate } from 'node:tls'

/**
 * How a client reached the broker. 'internal' is an in-process connection
 * opened with `broker.connectInProcess()` (trusted host code, e.g. a bridge).
 */
export type Transport = 'tcp' | 'tls' | 'ws' | 'wss' | 'internal'

/** The transports a network listener serves. */
export type ListenerTransport = Exclude<Transport, 'internal'>

/** MQTT quality of service. */
export type QoS = 0 | 1 | 2

/** Who a client is, once an authenticator has said so. Authorizers read it. */
export interface Identity {
  /** The username the client presented, or one an authenticator assigned (e.g. from a certificate). */
  username?: string
  /** Roles an authenticator granted; authorizers may use them. */
  roles: string[]
  /** Free-form claims (JWT claims, session data…). */
  claims: Record<string, unknown>
  /** The name of the plugin that authenticated the client, or 'anonymous'. */
  authenticatedBy: string
}

/** Everything known about a connection when it asks to be let in. */
export interface ConnectInput {
  clientId: string
  /** Unique per connection; the same as the ClientContext.connectionId this connection gets. */
  connectionId: string
  username?: string
  password?: Buffer
  /** MQTT protocol level: 3 (MQTT 3.1) or 4 (3.1.1). */
  protocolVersion: number
  /**
   * The client connected in bridge mode (protocol level with the 0x80 bit, as
   * Mosquitto's bridges send with try_private): the broker does not send a
   * bridge's own messages back to it.
   */
  bridgeMode?: boolean
  clean: boolean
  keepalive: number
  transport: Transport
  /** The name of the listener the connection came in on. */
  listener: string
  remoteAddress?: string
  remotePort?: number
  /** For ws/wss: the HTTP upgrade request (headers, cookies, url). */
  request?: IncomingMessage
  /** For tls/wss with client certificates: the peer's certificate (empty object when none was sent). */
  peerCertificate?: PeerCertificate
  /** Whether the TLS layer verified the peer certificate against the configured CA. */
  peerCertificateAuthorized?: boolean
}

/** What authorizers see of the client asking. */
export interface ClientContext {
  clientId: string
  /** Unique per connection: tells a client id's current connection from an older one it replaced. */
  connectionId: string
  identity: Identity
  transport: Transport
  listener: string
  remoteAddress?: string
}

export interface PublishRequest {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
}

export interface SubscribeRequest {
  /** The topic filter, possibly with + and # wildcards. */
  filter: string
  qos: QoS
}

/** A message as the in-process API and interceptors see it. */
export interface Message {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
}

/** A snapshot of one connected client, for `broker.clients()`. */
export interface ClientInfo {
  id: string
  connectionId: string
  username?: string
  roles: string[]
  /** The plugin that let the client in ('anonymous', 'certificate', or a plugin name). */
  authenticatedBy: string
  transport: Transport
  listener: string
  remoteAddress?: string
  connectedAt: Date
  clean: boolean
  /** Connected in bridge mode (see ConnectInput.bridgeMode). */
  bridgeMode?: boolean
  subscriptions: SubscribeRequest[]
  /** QoS 0 messages dropped because the client was not reading fast enough. */
  droppedMessages: number
}
