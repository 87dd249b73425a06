import type { BrokerApi, ClientContext, ConnectionListener, Logger } from '@embedmq/core'
import { isoTime } from './claims.js'

/** setTimeout fires at once for delays over 2^31-1 ms (~24.8 days), so longer waits are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1

interface Tracked {
  timer: NodeJS.Timeout
  /** When the token stops being acceptable (exp plus the clock tolerance), ms since the epoch. */
  deadline: number
}

/**
 * Disconnects each client logged in by this plugin when its token expires.
 * One timer per connection, keyed by that connection's ClientContext (the
 * broker gives one per connection), cleared when it disconnects. A client id
 * can be taken over by a new connection (MQTT-3.1.4-2): the timer of the old
 * one then fires for nobody, because only the connection currently holding
 * the id (`live`) is ever disconnected.
 */
export class ExpiryWatch implements ConnectionListener {
  readonly #tracked = new Map<ClientContext, Tracked>()
  /** The connection that holds each client id, as far as this plugin has been told. */
  readonly #live = new Map<string, ClientContext>()

  constructor (
    private readonly pluginName: string,
    private readonly toleranceMs: number,
    private readonly broker: BrokerApi,
    private readonly log: Logger
  ) {}

  /** Connections with a pending expiry timer (for health checks and tests). */
  get tracked (): number { return this.#tracked.size }

  onConnect (client: ClientContext): void {
    const exp = client.identity.claims.exp
    if (client.identity.authenticatedBy !== this.pluginName || typeof exp !== 'number' || !Number.isFinite(exp)) return
    this.#live.set(client.clientId, client)
    this.#arm(client, exp * 1000 + this.toleranceMs)
  }

  onDisconnect (client: ClientContext): void {
    this.#forget(client)
    if (this.#live.get(client.clientId) === client) this.#live.delete(client.clientId)
  }

  /** Clears every timer (plugin stop). */
  clear (): void {
    for (const t of this.#tracked.values()) clearTimeout(t.timer)
    this.#tracked.clear()
    this.#live.clear()
  }

  #arm (client: ClientContext, deadline: number): void {
    this.#forget(client)
    const delay = Math.min(Math.max(deadline - Date.now(), 0), MAX_DELAY_MS)
    const timer = setTimeout(() => { this.#due(client, deadline) }, delay)
    // The broker's sockets keep the process alive; an expiry timer alone should not.
    timer.unref()
    this.#tracked.set(client, { timer, deadline })
  }

  #forget (client: ClientContext): void {
    const t = this.#tracked.get(client)
    if (t === undefined) return
    clearTimeout(t.timer)
    this.#tracked.delete(client)
  }

  #due (client: ClientContext, deadline: number): void {
    if (!this.#tracked.has(client)) return
    if (Date.now() < deadline) { this.#arm(client, deadline); return } // a chained long wait
    this.#tracked.delete(client)
    if (this.#live.get(client.clientId) !== client) {
      this.log.debug({ clientId: client.clientId }, 'token expired on a connection that is already gone; nothing to do')
      return
    }
    const { username } = client.identity
    const expiredAt = isoTime((deadline - this.toleranceMs) / 1000)
    this.log.info({ clientId: client.clientId, username, expiredAt, remoteAddress: client.remoteAddress },
      `token of client "${client.clientId}"${username === undefined ? '' : ` (user "${username}")`} expired at ${expiredAt}; disconnecting it`)
    this.broker.disconnect(client.clientId, { connectionId: client.connectionId }).then(
      (found) => { if (!found) this.log.debug({ clientId: client.clientId }, 'expired client was already gone') },
      (err: unknown) => { this.log.warn({ clientId: client.clientId, err: (err as Error).message }, `could not disconnect client "${client.clientId}" whose token expired`) }
    )
  }
}
