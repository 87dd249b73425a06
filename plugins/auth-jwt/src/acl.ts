import { topicFilterProblem, topicMatches } from '@embedmq/core'
import { claimStrings, describeClaim, readClaim } from './claims.js'
import type { ClaimPath } from './options.js'
import { filterCovers, filtersIntersect, hasWildcard } from './topics.js'

/** The ACL a token grants, with `%u` and `%c` already substituted. */
export type CompiledAcl =
  | { kind: 'missing' }
  | { kind: 'granted', publish: readonly string[], subscribe: readonly string[] }

/** Something in an ACL claim that was skipped, for a log line. */
export interface AclProblem {
  claim: string
  entry?: string
  problem: string
}

export interface AclClaims {
  publishClaim: ClaimPath
  subscribeClaim: ClaimPath
}

/** Characters that would let a substituted value escape its level or widen a filter. */
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_LEVEL = /[/+#\u0000]/

const shorten = (s: string): string => (s.length > 120 ? `${s.slice(0, 120)}…` : s)

/**
 * Substitutes `%u` (username) and `%c` (client id) in a filter. A value that
 * is empty or contains `/`, `+`, `#` or NUL is refused (Mosquitto refuses
 * `+`/`#` too): a client id `+` must not turn `devices/%c/#` into
 * `devices/+/#`, and `anna/x` must not reach into `anna`'s subtree.
 */
export function substitute (filter: string, username: string | undefined, clientId: string): { filter: string } | { problem: string } {
  let out = filter
  for (const [token, value, what] of [['%u', username, 'username'], ['%c', clientId, 'client id']] as const) {
    if (!out.includes(token)) continue
    if (value === undefined || value.length === 0) return { problem: `uses ${token} but the ${what} is empty` }
    if (UNSAFE_IN_LEVEL.test(value)) return { problem: `uses ${token} but the ${what} contains /, +, # or NUL` }
    out = out.split(token).join(value)
  }
  return { filter: out }
}

function compileList (
  claims: Record<string, unknown>, path: ClaimPath, username: string | undefined, clientId: string, problems: AclProblem[]
): string[] | undefined {
  const claim = describeClaim(path)
  const value = readClaim(claims, path)
  const raw = claimStrings(value, false)
  if (raw === undefined) return undefined
  if (typeof value !== 'string' && !Array.isArray(value)) {
    const kind = value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`
    problems.push({ claim, problem: `is ${kind}, not a topic filter or a list of them` })
    return []
  }
  if (raw.invalid > 0) problems.push({ claim, problem: `has ${raw.invalid} entr${raw.invalid === 1 ? 'y that is' : 'ies that are'} not a string` })
  const out: string[] = []
  for (const entry of raw.values) {
    const done = substitute(entry, username, clientId)
    if ('problem' in done) { problems.push({ claim, entry: shorten(entry), problem: done.problem }); continue }
    const bad = topicFilterProblem(done.filter)
    if (bad !== undefined) { problems.push({ claim, entry: shorten(entry), problem: `is not a valid topic filter: it ${bad}` }); continue }
    out.push(done.filter)
  }
  return out
}

/**
 * Reads the publish and subscribe grants from verified claims. Neither claim
 * present: `missing` (the `whenMissing` option decides). One present: the
 * token defines the ACL, and the absent list grants nothing. Entries that
 * cannot be used are skipped (never widened) and reported in `problems`.
 */
export function compileAcl (
  claims: Record<string, unknown>, paths: AclClaims, username: string | undefined, clientId: string
): { acl: CompiledAcl, problems: AclProblem[] } {
  const problems: AclProblem[] = []
  const publish = compileList(claims, paths.publishClaim, username, clientId, problems)
  const subscribe = compileList(claims, paths.subscribeClaim, username, clientId, problems)
  if (publish === undefined && subscribe === undefined) return { acl: { kind: 'missing' }, problems }
  return { acl: { kind: 'granted', publish: publish ?? [], subscribe: subscribe ?? [] }, problems }
}

/** A decision with the reason a denial is logged with. */
export type AclDecision = { allowed: true } | { allowed: false, reason: string }

const ALLOWED: AclDecision = { allowed: true }

export function checkPublish (publish: readonly string[], topic: string): AclDecision {
  return publish.some(f => topicMatches(f, topic)) ? ALLOWED : { allowed: false, reason: 'no publish grant in the token matches the topic' }
}

/**
 * A subscription is granted when a `subscribe` grant covers it (every topic it
 * can match is granted) or, with `intersect`, when it has a wildcard and some
 * topic it can match is granted: the read check then withholds the rest.
 */
export function checkSubscribe (subscribe: readonly string[], filter: string, wildcards: 'intersect' | 'covered'): AclDecision {
  if (subscribe.some(g => filterCovers(g, filter))) return ALLOWED
  if (wildcards === 'intersect' && hasWildcard(filter) && subscribe.some(g => filtersIntersect(g, filter))) return ALLOWED
  return { allowed: false, reason: wildcards === 'intersect' && hasWildcard(filter)
    ? 'no subscribe grant in the token overlaps the filter'
    : 'no subscribe grant in the token covers the filter' }
}

/** A message on `topic` is delivered only when a `subscribe` grant matches it. */
export function checkRead (subscribe: readonly string[], topic: string): AclDecision {
  return subscribe.some(f => topicMatches(f, topic)) ? ALLOWED : { allowed: false, reason: 'no subscribe grant in the token matches the topic' }
}
