import {
  allow, deny, type AuthorizationResult, type Authorizer, type ClientContext, type Logger, type PublishRequest, type SubscribeRequest
} from '@embedmq/core'
import type { AclDecision, AclPolicy, AclSubject } from './acl-policy.js'

/** What the authorizer needs of the ACL file: its current rules (swapped on reload). */
export interface AclSource {
  readonly value: AclPolicy
}

const subjectOf = (client: ClientContext): AclSubject => ({ username: client.identity.username, clientId: client.clientId })

/**
 * Applies the ACL file to every client, whoever authenticated it (so it also
 * restricts clients another plugin let in, by the username that plugin gave).
 * The ACL is authoritative: what it does not grant is denied, never passed on
 * with next, as Mosquitto does. All three checks are synchronous.
 */
export class AclAuthorizer implements Authorizer {
  constructor (private readonly acl: AclSource, private readonly logger: Logger) {}

  authorizePublish (client: ClientContext, request: PublishRequest): AuthorizationResult {
    return this.#answer('publish', request.topic, () => this.acl.value.mayWrite(subjectOf(client), request.topic))
  }

  authorizeSubscribe (client: ClientContext, request: SubscribeRequest): AuthorizationResult {
    return this.#answer('subscribe', request.filter, () => this.acl.value.maySubscribe(subjectOf(client), request.filter))
  }

  authorizeRead (client: ClientContext, topic: string): AuthorizationResult {
    return this.#answer('read', topic, () => this.acl.value.mayRead(subjectOf(client), topic))
  }

  #answer (what: string, topic: string, decide: () => AclDecision): AuthorizationResult {
    try {
      const decision = decide()
      return decision.allowed ? allow() : deny(decision.reason)
    } catch (err) {
      // Never expected; fail closed with a line that says so rather than throw into the chain.
      this.logger.error({ topic: topic.slice(0, 200), err: (err as Error).message }, `ACL check (${what}) failed: ${(err as Error).message}; denying`)
      return deny('ACL check failed')
    }
  }
}
