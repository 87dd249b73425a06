/**
 * What the app's identify function answers, and the check that keeps a
 * malformed answer (an app bug) from becoming a broker identity.
 */

/** Who a session belongs to, as the app's identify function reports it. */
export interface SessionIdentity {
  /**
   * The MQTT username the connection gets (authorizers' `%u`). Required: the
   * username the client put in CONNECT is ignored for session logins.
   */
  username: string
  /** Roles for authorizers. Default none. */
  roles?: string[]
  /** Free-form claims for authorizers (never secrets: authorizers and logs may see them). Default none. */
  claims?: Record<string, unknown>
}

/** The result of checking an identify answer: an identity, no session, or what is wrong with it. */
export type IdentityCheck =
  | { identity: Required<SessionIdentity> }
  | { identity: undefined }
  | { problem: string }

/** MQTT strings are at most 65 535 bytes of UTF-8 (MQTT-1.5.3). */
const MAX_MQTT_STRING_BYTES = 65_535

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * Checks what identify returned. `undefined` and `null` mean "no logged-in
 * session"; anything else must be a `SessionIdentity`. Extra keys are ignored
 * (apps often return their whole user record), so only username, roles and
 * claims reach the broker.
 */
export function checkIdentity (answer: unknown): IdentityCheck {
  if (answer === undefined || answer === null) return { identity: undefined }
  if (typeof answer !== 'object' || Array.isArray(answer)) {
    return { problem: `identify must return { username, roles?, claims? } or undefined, not ${Array.isArray(answer) ? 'an array' : typeof answer}` }
  }
  const { username, roles, claims } = answer as Record<string, unknown>
  if (typeof username !== 'string' || username === '') {
    const keys = Object.keys(answer).slice(0, 10).join(', ')
    return { problem: `identify returned an identity without a username (a non-empty string); it has keys: ${keys === '' ? 'none' : keys}` }
  }
  if (username.includes('\u0000')) return { problem: 'identify returned a username containing U+0000, which MQTT strings may not contain (MQTT-1.5.3-2)' }
  if (Buffer.byteLength(username, 'utf8') > MAX_MQTT_STRING_BYTES) {
    return { problem: `identify returned a username longer than ${MAX_MQTT_STRING_BYTES} bytes, the MQTT string limit` }
  }
  if (roles !== undefined && !(Array.isArray(roles) && roles.every(r => typeof r === 'string'))) {
    return { problem: 'identify returned roles that are not an array of strings' }
  }
  if (claims !== undefined && !isPlainObject(claims)) {
    return { problem: 'identify returned claims that are not a plain object' }
  }
  return { identity: { username, roles: roles === undefined ? [] : [...roles], claims: claims === undefined ? {} : { ...claims } } }
}
