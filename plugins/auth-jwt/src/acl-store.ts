import type { ClientContext, Logger } from '@embedmq/core'
import { compileAcl, type AclClaims, type CompiledAcl } from './acl.js'

/**
 * The compiled ACL of each connection the plugin authenticated, keyed by the
 * claims object it handed the broker as the identity's `claims` (one per
 * login, dropped with the connection, so nothing here outlives a client).
 * Compiled once at login, where problems are logged once; a claims object
 * the store has not seen (a core that copies identities) is compiled on use.
 */
export class AclStore {
  readonly #compiled = new WeakMap<object, CompiledAcl>()

  constructor (private readonly pluginName: string, private readonly paths: AclClaims, private readonly log: Logger) {}

  /** Compiles a login's ACL, logs what was skipped, and remembers it for the authorizer. */
  compile (claims: Record<string, unknown>, username: string | undefined, clientId: string): CompiledAcl {
    const { acl, problems } = compileAcl(claims, this.paths, username, clientId)
    for (const p of problems) {
      this.log.warn({ clientId, username, claim: p.claim, entry: p.entry },
        `ACL ${p.entry === undefined ? `claim "${p.claim}"` : `entry ${JSON.stringify(p.entry)} in claim "${p.claim}"`} of client "${clientId}" ${p.problem}; it grants nothing`)
    }
    this.#compiled.set(claims, acl)
    return acl
  }

  /** The ACL of a client this plugin authenticated, or undefined for anyone else's clients. */
  aclFor (client: ClientContext): CompiledAcl | undefined {
    if (client.identity.authenticatedBy !== this.pluginName) return undefined
    return this.#compiled.get(client.identity.claims) ?? this.compile(client.identity.claims, client.identity.username, client.clientId)
  }
}
