import type { ConnectionMeta } from './listeners/types.js'
import type { ClientContext, Identity } from './types.js'

const ANONYMOUS: Identity = Object.freeze({ roles: [], claims: {}, authenticatedBy: 'anonymous' }) as Identity

/**
 * What the broker keeps about one connection beyond what aedes keeps:
 * where it came from, who it is, and its cached authorization decisions.
 */
export class Session {
  clientId = ''
  identity: Identity = ANONYMOUS
  connectedAt = new Date()
  /** Set by the CONNECT check when the client must be refused with this CONNACK code. */
  refusal: number | undefined
  /** 'p:<topic>' / 's:<filter>' → allowed. Emptied on invalidate; dropped with the session. */
  readonly authorizations = new Map<string, boolean>()
  /** Inbound QoS 2 packet ids acknowledged with PUBREC and not yet released (PUBREL). */
  readonly awaitingRelease = new Set<number>()
  /** QoS 0 messages dropped because this client was not reading. */
  droppedMessages = 0
  #context: ClientContext | undefined

  constructor (readonly meta: ConnectionMeta) {}

  /** The read-only view authorizers and listeners get; built once per authenticated identity. */
  get context (): ClientContext {
    this.#context ??= {
      clientId: this.clientId,
      identity: this.identity,
      transport: this.meta.transport,
      listener: this.meta.listener,
      ...(this.meta.remoteAddress === undefined ? {} : { remoteAddress: this.meta.remoteAddress })
    }
    return this.#context
  }

  authenticated (clientId: string, identity: Identity): void {
    this.clientId = clientId
    this.identity = identity
    this.#context = undefined
  }
}
