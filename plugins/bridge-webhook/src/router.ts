import { topicMatches, type BrokerApi, type BrokerEvents, type Logger } from '@embedmq/core'
import { clientEvent, messageEvent, subscribedEvent, unsubscribedEvent, type QueuedEvent } from './events.js'
import type { EventType } from './options.js'
import type { EndpointSender } from './sender.js'

/** An endpoint as the router sees it: what it selected, and where to put events. */
export interface Route {
  sender: EndpointSender
  events: ReadonlySet<EventType>
  /** Filters for message.published. */
  topics: readonly string[]
}

type Listeners = { [E in keyof BrokerEvents]?: (...args: BrokerEvents[E]) => void }

/**
 * Turns broker events into queued events for the endpoints that selected
 * them. Every handler is synchronous, builds the event once (only if some
 * endpoint wants it), enqueues and returns: the broker's routing never waits
 * on an endpoint, and nothing thrown here can reach the broker.
 */
export class EventRouter {
  #attached: Listeners = {}
  #errors = 0

  constructor (
    private readonly broker: BrokerApi,
    private readonly routes: readonly Route[],
    private readonly logger: Logger
  ) {}

  attach (): void {
    const wants = (type: EventType): Route[] => this.routes.filter(r => r.events.has(type))
    const published = wants('message.published')
    const connected = wants('client.connected')
    const disconnected = wants('client.disconnected')
    const subscribed = wants('session.subscribed')
    const unsubscribed = wants('session.unsubscribed')
    const listeners: Listeners = {}
    // Only listen to what some endpoint selected: the broker skips building messages nobody listens for.
    if (published.length > 0) {
      listeners.published = (message, client) => this.#guard(() => {
        let event: QueuedEvent | undefined
        for (const route of published) {
          if (!route.topics.some(f => topicMatches(f, message.topic))) continue
          event ??= messageEvent(message, client)
          route.sender.enqueue(event)
        }
      })
    }
    if (connected.length > 0) listeners.clientConnected = (client) => this.#guard(() => fanOut(connected, clientEvent('client.connected', client)))
    if (disconnected.length > 0) listeners.clientDisconnected = (client, reason) => this.#guard(() => fanOut(disconnected, clientEvent('client.disconnected', client, reason)))
    if (subscribed.length > 0) listeners.subscribed = (client, requests) => this.#guard(() => fanOut(subscribed, subscribedEvent(client, requests)))
    if (unsubscribed.length > 0) listeners.unsubscribed = (client, filters) => this.#guard(() => fanOut(unsubscribed, unsubscribedEvent(client, filters)))
    this.#each(listeners, (event, listener) => this.broker.on(event, listener))
    this.#attached = listeners
  }

  detach (): void {
    this.#each(this.#attached, (event, listener) => this.broker.off(event, listener))
    this.#attached = {}
  }

  #each (listeners: Listeners, call: <E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void) => void): void {
    for (const event of Object.keys(listeners) as Array<keyof BrokerEvents>) {
      const listener = listeners[event]
      if (listener) call(event, listener as (...args: BrokerEvents[typeof event]) => void)
    }
  }

  #guard (work: () => void): void {
    try {
      work()
    } catch (err) {
      // A bug here must not throw into the broker's event emitter (and from there into routing).
      if (this.#errors++ % 1000 === 0) this.logger.error({ err, occurrences: this.#errors }, 'webhook: failed to queue a broker event; it was not sent')
    }
  }
}

function fanOut (routes: readonly Route[], event: QueuedEvent): void {
  for (const route of routes) route.sender.enqueue(event)
}
