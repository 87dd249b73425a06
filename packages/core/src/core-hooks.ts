import type { MaybePromise } from './plugins/extensions.js'
import type { Session } from './session.js'
import type { ConnectInput, Message, QoS, SubscribeRequest } from './types.js'

/** A routed message as the adapter has it (aedes' packet shape, which needs no copy to pass on). */
export interface RoutedPacket {
  topic: string
  payload: Buffer | string
  qos: number
  retain?: boolean
}

/** embedmq's Message from a packet. */
export function toMessage (packet: RoutedPacket): Message {
  return {
    topic: packet.topic,
    payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
    qos: packet.qos as QoS,
    retain: packet.retain === true
  }
}

/** The broker's decision on an inbound PUBLISH. */
export type PublishVerdict =
  | { action: 'deliver', message: Message }
  | { action: 'drop', reason: string }
  | { action: 'disconnect', reason: string }

/**
 * The contract between the aedes adapter and the broker's logic, in embedmq's
 * own types: the adapter turns aedes callbacks into these calls, so the
 * policy code never sees aedes.
 */
export interface CoreHooks {
  /** A CONNECT arrived: 0 lets the client in; 2–5 is the CONNACK refusal code. */
  connect (session: Session, input: ConnectInput): MaybePromise<number>
  authorizePublish (session: Session, message: Message): MaybePromise<PublishVerdict>
  authorizeSubscribe (session: Session, request: SubscribeRequest): MaybePromise<boolean>
  /** Whether a message on `topic` may be delivered to this client; asked per delivery, so synchronous. */
  canRead (session: Session, topic: string): boolean
  /**
   * A message was routed (from a client, a will, or the host app when session
   * is null). The packet becomes a Message only when someone wants to see it.
   */
  published (session: Session | null, packet: RoutedPacket): void
  connected (session: Session): void
  disconnected (session: Session): void
  subscribed (session: Session, requests: SubscribeRequest[]): void
  unsubscribed (session: Session, filters: string[]): void
  /** A slow client had a QoS 0 message dropped (total so far for this connection). */
  outboundDropped (session: Session, total: number): void
  /** A slow client is being disconnected because its QoS 1/2 backlog passed the bound. */
  outboundOverflow (session: Session, reason: string): void
  /** A connection failed: a protocol error, a guard violation, a reset. */
  connectionError (session: Session, error: Error): void
}
