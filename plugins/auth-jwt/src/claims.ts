import type { ClaimPath } from './options.js'

/** The keys of a claim path: `acl.pub` → ['acl', 'pub']; a list is taken as it is. */
export function claimKeys (path: ClaimPath): string[] {
  return typeof path === 'string' ? path.split('.') : path
}

/** How a claim path is written in log lines and reasons. */
export function describeClaim (path: ClaimPath): string {
  return typeof path === 'string' ? path : JSON.stringify(path)
}

/** The value at a claim path, or undefined. Only own properties of plain objects are followed. */
export function readClaim (claims: Record<string, unknown>, path: ClaimPath): unknown {
  let value: unknown = claims
  for (const key of claimKeys(path)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/** A claim as a string: strings as they are, finite numbers in decimal; anything else undefined. */
export function claimString (value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/**
 * A claim as a list of strings: an array's string members, or one string
 * (split on spaces when `splitSpaces`, the OAuth `scope` convention; topic
 * filters may contain spaces, so ACL claims are not split). `invalid` counts
 * what was skipped, so the caller can say so.
 */
export function claimStrings (value: unknown, splitSpaces: boolean): { values: string[], invalid: number } | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return { values: splitSpaces ? value.split(' ').filter(s => s.length > 0) : [value], invalid: 0 }
  if (!Array.isArray(value)) return { values: [], invalid: 1 }
  const values = value.filter((v): v is string => typeof v === 'string')
  return { values, invalid: value.length - values.length }
}

/** Whether a string is well-formed UTF-16 (no lone surrogates) and has no NUL: what MQTT allows in a UTF-8 string. */
export function isMqttString (value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)
}

/** A NumericDate claim as ISO 8601; never throws (Date cannot represent every number a token may carry). */
export function isoTime (seconds: unknown): string {
  const date = typeof seconds === 'number' ? new Date(seconds * 1000) : undefined
  return date !== undefined && Number.isFinite(date.getTime()) ? date.toISOString() : `${JSON.stringify(seconds)} (not a representable time)`
}
