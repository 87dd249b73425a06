import { topicMatches, type Identity } from '@embedmq/core'
import type { AuthorizeRequest } from './requests.js'

/**
 * Read filters a login answer granted (`"read": [...]` in the authenticate
 * response), kept for exactly that connection: keyed by the claims object
 * this plugin created for the connection's identity, so they go away with the
 * session and a reconnect (or a takeover of the same client id) never sees
 * another connection's grants. They are what lets queued messages of a
 * persistent session, delivered right after CONNACK, pass the read check.
 */
export class LoginGrants {
  readonly #byClaims = new WeakMap<object, readonly string[]>()

  attach (claims: Record<string, unknown>, filters: readonly string[]): void {
    if (filters.length > 0) this.#byClaims.set(claims, filters)
  }

  allows (identity: Identity, topic: string): boolean {
    const filters = this.#byClaims.get(identity.claims)
    return filters !== undefined && filters.some(f => topicMatches(f, topic))
  }
}

/**
 * Which subscribe decisions of a principal (client id + username) carried
 * read grants: the decisions themselves live in the authorize cache (with
 * their TTL); this only remembers where to look. Bounded: the principals not
 * seen for longest go first.
 */
export class SubscriptionGrantIndex {
  readonly #byPrincipal = new Map<string, Map<string, AuthorizeRequest>>()

  constructor (private readonly maxPrincipals: number) {}

  /** Records that the subscribe decision under `key` has read grants. */
  add (principal: string, key: string, request: AuthorizeRequest): void {
    let keys = this.#byPrincipal.get(principal)
    if (keys === undefined) {
      keys = new Map()
      this.#byPrincipal.set(principal, keys)
      while (this.#byPrincipal.size > this.maxPrincipals) {
        const oldest = this.#byPrincipal.keys().next()
        if (oldest.done === true) break
        this.#byPrincipal.delete(oldest.value)
      }
    }
    keys.set(key, request)
  }

  remove (principal: string, key: string): void {
    const keys = this.#byPrincipal.get(principal)
    if (keys === undefined) return
    keys.delete(key)
    if (keys.size === 0) this.#byPrincipal.delete(principal)
  }

  /** The subscribe decisions with grants recorded for a principal. */
  entries (principal: string): Array<[key: string, request: AuthorizeRequest]> {
    const keys = this.#byPrincipal.get(principal)
    return keys === undefined ? [] : [...keys]
  }

  clear (): void {
    this.#byPrincipal.clear()
  }
}
