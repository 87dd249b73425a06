import type { ClientContext, ConnectInput, Identity, Message, PublishRequest, SubscribeRequest } from '../types.js'

/**
 * The three answers a link in an authentication or authorization chain can give,
 * after HiveMQ's authenticateSuccessfully / failAuthentication / nextExtensionOrDefault,
 * Mosquitto's DEFER and EMQX's ignore.
 */
export interface Deny {
  outcome: 'deny'
  /** Said in the broker log; never sent to the client (MQTT 3.1.1 has no reason strings). */
  reason?: string
}
export interface Next { outcome: 'next' }

/** MQTT 3.1.1 CONNACK codes an authenticator may choose when it denies. */
export type ConnackRefusal = 2 | 3 | 4 | 5

export type AuthenticationResult =
  | { outcome: 'allow', identity?: Partial<Omit<Identity, 'authenticatedBy'>> }
  | (Deny & { returnCode?: ConnackRefusal })
  | Next

export type AuthorizationResult =
  | { outcome: 'allow' }
  | Deny
  | Next

export type MaybePromise<T> = T | Promise<T>

/** Decides whether a connection may log in. Runs once per CONNECT. */
export interface Authenticator {
  authenticate (input: ConnectInput): MaybePromise<AuthenticationResult>
}

/**
 * Decides what an authenticated client may do. Either method may be left out,
 * which is the same as answering next. Results are cached per client and topic
 * unless the plugin asks `ctx.broker.invalidateAuthorizations()`.
 */
export interface Authorizer {
  authorizePublish? (client: ClientContext, request: PublishRequest): MaybePromise<AuthorizationResult>
  authorizeSubscribe? (client: ClientContext, request: SubscribeRequest): MaybePromise<AuthorizationResult>
  /**
   * Whether a message on this concrete topic may be delivered to the client
   * (Mosquitto's read ACL): it keeps a wildcard subscription from reading
   * topics the ACL closes. Asked on delivery, so it must answer synchronously
   * (a promise counts as deny, and is logged); answers are cached per client
   * and topic like the others.
   */
  authorizeRead? (client: ClientContext, topic: string): AuthorizationResult
}

export type InterceptResult =
  | { outcome: 'continue', message?: Partial<Message> }
  | { outcome: 'drop', reason?: string }

/**
 * Sees every publish after authorization (from clients, wills and the host app)
 * and may rewrite it (return `message`) or drop it. Links run in priority order,
 * each seeing the previous one's rewrite. A link that throws or times out drops.
 */
export interface PublishInterceptor {
  intercept (message: Message, client: ClientContext | null): MaybePromise<InterceptResult>
}

/** Told when clients come and go. Failures are logged and never affect the client. */
export interface ConnectionListener {
  onConnect? (client: ClientContext): MaybePromise<void>
  /** `reason` as in the broker's `clientDisconnected` event (e.g. 'client sent DISCONNECT', 'keepalive timeout: …'). */
  onDisconnect? (client: ClientContext, reason: string): MaybePromise<void>
}

/** Options for one link in a chain. */
export interface LinkOptions {
  /** Higher runs first; ties keep registration order. Default 0. */
  priority?: number
  /** A link that takes longer denies (fail closed). Default: the broker's `plugins.timeoutMs`. */
  timeoutMs?: number
}

export const allow = (): { outcome: 'allow' } => ({ outcome: 'allow' })
export const authenticated = (identity: Partial<Omit<Identity, 'authenticatedBy'>> = {}): AuthenticationResult =>
  ({ outcome: 'allow', identity })
export const deny = (reason?: string): Deny => (reason === undefined ? { outcome: 'deny' } : { outcome: 'deny', reason })
export const refuse = (returnCode: ConnackRefusal, reason?: string): AuthenticationResult =>
  ({ outcome: 'deny', returnCode, ...(reason === undefined ? {} : { reason }) })
export const next = (): Next => ({ outcome: 'next' })
export const proceed = (message?: Partial<Message>): InterceptResult =>
  (message === undefined ? { outcome: 'continue' } : { outcome: 'continue', message })
export const drop = (reason?: string): InterceptResult =>
  (reason === undefined ? { outcome: 'drop' } : { outcome: 'drop', reason })
