import { createHash } from 'node:crypto'
import type { ClientContext, ConnectInput, Transport } from '@embedmq/core'

/** The JSON body POSTed to the authenticate endpoint. */
export interface AuthenticateRequest {
  clientId: string
  username: string | null
  /** The password as UTF-8 text, or base64 when it is not valid UTF-8 (see passwordEncoding); null when none was sent. */
  password: string | null
  passwordEncoding: 'utf8' | 'base64' | null
  transport: Transport
  /** The listener's name (e.g. `tcp:1883`). */
  listener: string
  remoteAddress: string | null
  /** 3 (MQTT 3.1) or 4 (3.1.1). */
  protocolVersion: number
  clean: boolean
  keepalive: number
  /** For TLS listeners that asked for one: the client certificate the TLS layer saw. */
  certificate: { commonName: string | null, fingerprint256: string, authorized: boolean } | null
}

/** What an authorization request is about. */
export type AuthorizeAction = 'publish' | 'subscribe' | 'read'

/** The JSON body POSTed to the authorize endpoint. */
export interface AuthorizeRequest {
  clientId: string
  username: string | null
  action: AuthorizeAction
  /** The topic (publish, read) or topic filter (subscribe). */
  topic: string
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function encodePassword (password: Buffer | undefined): Pick<AuthenticateRequest, 'password' | 'passwordEncoding'> {
  if (password === undefined) return { password: null, passwordEncoding: null }
  try {
    return { password: strictUtf8.decode(password), passwordEncoding: 'utf8' }
  } catch {
    // A lossy decode would map different binary passwords to the same text; base64 keeps them apart.
    return { password: password.toString('base64'), passwordEncoding: 'base64' }
  }
}

function certificateOf (input: ConnectInput): AuthenticateRequest['certificate'] {
  const cert = input.peerCertificate
  if (cert === undefined || typeof cert.fingerprint256 !== 'string' || cert.fingerprint256 === '') return null
  const cn: unknown = cert.subject?.CN
  const commonName = typeof cn === 'string' ? cn : Array.isArray(cn) && typeof cn[0] === 'string' ? cn[0] : null
  return { commonName, fingerprint256: cert.fingerprint256, authorized: input.peerCertificateAuthorized === true }
}

export function authenticateRequest (input: ConnectInput): AuthenticateRequest {
  return {
    clientId: input.clientId,
    username: input.username ?? null,
    ...encodePassword(input.password),
    transport: input.transport,
    listener: input.listener,
    remoteAddress: input.remoteAddress ?? null,
    protocolVersion: input.protocolVersion,
    clean: input.clean,
    keepalive: input.keepalive,
    certificate: certificateOf(input)
  }
}

/**
 * The cache key of a login: a hash of the whole request, so an identical
 * login (same client, credentials, address, transport) reuses the decision,
 * any difference asks again, and no password is kept in memory as a key.
 * The source port is not in the request, so reconnects can hit the cache.
 */
export function authenticateKey (request: AuthenticateRequest): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('base64')
}

export function authorizeRequest (client: ClientContext, action: AuthorizeAction, topic: string): AuthorizeRequest {
  return { clientId: client.clientId, username: client.identity.username ?? null, action, topic }
}

/** The cache key of an authorization: the full request. */
export function authorizeKey (request: AuthorizeRequest): string {
  return JSON.stringify([request.clientId, request.username, request.action, request.topic])
}

/** Who a decision is about: client id and username (grants are per principal). */
export function principalKey (client: ClientContext): string {
  return JSON.stringify([client.clientId, client.identity.username ?? null])
}
