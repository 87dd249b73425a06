import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import type { ClientContext, Message, SubscribeRequest } from '@embedmq/core'
import type { EventType } from './options.js'

/**
 * One event as the receiver gets it, inside `{ "events": [...] }`.
 * Fields that do not apply to an event's type are absent, never null.
 */
export interface WebhookEvent {
  /** Unique per event (a UUID): receivers dedupe on it, since a batch may arrive more than once. */
  id: string
  type: EventType
  /** When the broker saw the event, ISO 8601 UTC with milliseconds. */
  ts: string
  /** The broker's id (`broker.id`). */
  broker: string
  /** The client concerned; absent for a message the host app or the broker published. */
  clientId?: string
  username?: string
  /** Client events: the connection's unique id, transport and remote address. */
  connectionId?: string
  transport?: string
  remoteAddress?: string
  /** message.published */
  topic?: string
  qos?: 0 | 1 | 2
  retain?: boolean
  /** message.published: the payload, written as `encoding` says. */
  payload?: string
  /** `utf8`, or `base64` when so configured or when the payload was not valid UTF-8. */
  encoding?: 'utf8' | 'base64'
  /** session.subscribed: filters and granted QoS; session.unsubscribed: filters only. */
  subscriptions?: Array<{ filter: string, qos?: 0 | 1 | 2 }>
  /** client.disconnected: why, as the broker says ('client sent DISCONNECT', 'keepalive timeout: …', 'connection closed', …). */
  reason?: string
}

/**
 * What is queued: the event's facts, with the payload kept as bytes until
 * the batch is written (encoding is per endpoint, and costs nothing on the
 * broker's delivery path).
 */
export interface QueuedEvent {
  readonly id: string
  readonly type: EventType
  /** Wall clock (for `ts`). */
  readonly at: number
  /** Monotonic clock (performance.now()), for batch timing that a clock change cannot upset. */
  readonly queuedAt: number
  readonly client?: ClientContext
  readonly message?: Message
  readonly subscriptions?: ReadonlyArray<{ filter: string, qos?: 0 | 1 | 2 }>
  readonly reason?: string
  /** Approximate memory held, for the queue's byte bound. */
  readonly size: number
}

const BASE_SIZE = 256

export function messageEvent (message: Message, client: ClientContext | null): QueuedEvent {
  // A copy: the payload may be a slice of a socket read buffer, which would keep the whole chunk alive while queued.
  const copy: Message = { topic: message.topic, payload: Buffer.from(message.payload), qos: message.qos, retain: message.retain }
  return {
    id: randomUUID(),
    type: 'message.published',
    at: Date.now(), queuedAt: performance.now(),
    ...(client ? { client } : {}),
    message: copy,
    size: BASE_SIZE + copy.payload.length + copy.topic.length
  }
}

export function clientEvent (type: 'client.connected' | 'client.disconnected', client: ClientContext, reason?: string): QueuedEvent {
  return { id: randomUUID(), type, at: Date.now(), queuedAt: performance.now(), client, ...(reason === undefined ? {} : { reason }), size: BASE_SIZE }
}

export function subscribedEvent (client: ClientContext, requests: SubscribeRequest[]): QueuedEvent {
  const subscriptions = requests.map(r => ({ filter: r.filter, qos: r.qos }))
  return { id: randomUUID(), type: 'session.subscribed', at: Date.now(), queuedAt: performance.now(), client, subscriptions, size: BASE_SIZE + filtersSize(subscriptions) }
}

export function unsubscribedEvent (client: ClientContext, filters: string[]): QueuedEvent {
  const subscriptions = filters.map(filter => ({ filter }))
  return { id: randomUUID(), type: 'session.unsubscribed', at: Date.now(), queuedAt: performance.now(), client, subscriptions, size: BASE_SIZE + filtersSize(subscriptions) }
}

function filtersSize (subs: ReadonlyArray<{ filter: string }>): number {
  return subs.reduce((n, s) => n + s.filter.length + 32, 0)
}

/** The payload as text: utf8 when asked and valid, base64 otherwise (never a lossy decode). */
export function encodePayload (payload: Buffer, preferred: 'utf8' | 'base64'): { payload: string, encoding: 'utf8' | 'base64' } {
  if (preferred === 'utf8' && isUtf8(payload)) return { payload: payload.toString('utf8'), encoding: 'utf8' }
  return { payload: payload.toString('base64'), encoding: 'base64' }
}

/** The JSON shape of a queued event, for one endpoint's payload encoding. */
export function toWebhookEvent (event: QueuedEvent, brokerId: string, payloadEncoding: 'utf8' | 'base64'): WebhookEvent {
  const out: WebhookEvent = { id: event.id, type: event.type, ts: new Date(event.at).toISOString(), broker: brokerId }
  const client = event.client
  if (client) {
    out.clientId = client.clientId
    if (client.identity.username !== undefined) out.username = client.identity.username
    if (event.type === 'client.connected' || event.type === 'client.disconnected') {
      out.connectionId = client.connectionId
      out.transport = client.transport
      if (client.remoteAddress !== undefined) out.remoteAddress = client.remoteAddress
    }
  }
  const message = event.message
  if (message) {
    out.topic = message.topic
    out.qos = message.qos
    out.retain = message.retain
    Object.assign(out, encodePayload(message.payload, payloadEncoding))
  }
  if (event.subscriptions) out.subscriptions = event.subscriptions.map(s => ({ ...s }))
  if (event.reason !== undefined) out.reason = event.reason
  return out
}
