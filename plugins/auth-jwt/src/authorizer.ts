import { allow, deny, next, type AuthorizationResult, type Authorizer, type ClientContext, type PublishRequest, type SubscribeRequest } from '@embedmq/core'
import { checkPublish, checkRead, checkSubscribe, type AclDecision } from './acl.js'
import type { AclStore } from './acl-store.js'
import type { JwtAuthOptions } from './options.js'

const MISSING = 'the token has no ACL claims (acl.whenMissing: deny)'

/**
 * Authorizes what clients logged in by this plugin may do, from the ACL in
 * their token; clients logged in by anyone else get next(). Every answer is
 * synchronous (authorizeRead must be) and pure, so the broker's per-client
 * decision cache stays right for the whole connection: a token's grants
 * cannot change while it is in use.
 */
export class JwtAuthorizer implements Authorizer {
  constructor (private readonly o: JwtAuthOptions, private readonly acls: AclStore) {}

  authorizePublish (client: ClientContext, request: PublishRequest): AuthorizationResult {
    return this.#decide(client, acl => checkPublish(acl.publish, request.topic))
  }

  authorizeSubscribe (client: ClientContext, request: SubscribeRequest): AuthorizationResult {
    return this.#decide(client, acl => checkSubscribe(acl.subscribe, request.filter, this.o.acl.wildcardSubscriptions))
  }

  authorizeRead (client: ClientContext, topic: string): AuthorizationResult {
    return this.#decide(client, acl => checkRead(acl.subscribe, topic))
  }

  #decide (client: ClientContext, check: (acl: { publish: readonly string[], subscribe: readonly string[] }) => AclDecision): AuthorizationResult {
    const acl = this.acls.aclFor(client)
    if (acl === undefined) return next()
    if (acl.kind === 'missing') return this.o.acl.whenMissing === 'deny' ? deny(MISSING) : next()
    const decision = check(acl)
    return decision.allowed ? allow() : deny(decision.reason)
  }
}
