import { topicMatches } from '@embedmq/core'
import type { AclRule, AclTable } from './acl-file.js'
import { filterCovers, filtersOverlap } from './topic-match.js'

/**
 * Mosquitto's ACL semantics over a parsed file:
 * - a client's rules are its `user` section (the anonymous section when it
 *   has no username) plus every `pattern`, with %u and %c filled in;
 * - a deny rule that matches wins over any grant; nothing granted is denied;
 * - a SUBSCRIBE is allowed when some read grant overlaps its filter and no
 *   deny rule covers all of it: `#` may be granted to a user limited to
 *   `sensors/%u/#`, and each delivery is then checked with `mayRead`;
 * - a `#` or `+` rule never opens `$SYS/…` (MQTT-4.7.2-1), only a rule
 *   starting with `$SYS` does.
 */

/** Who is asking: the username (if any) and the client id. */
export interface AclSubject {
  username: string | undefined
  clientId: string
}

/** An answer, with the reason that goes into the broker's log. */
export interface AclDecision {
  allowed: boolean
  reason: string
}

/** A rule as it applies to one client (patterns with %u/%c filled in). */
interface EffectiveRule {
  access: AclRule['access']
  filter: string
  source: AclRule
}

/** Characters that would change a filter's structure if a username or client id put them into a pattern. */
const UNSAFE_IN_PATTERN = /[/+#]/

const describe = (r: EffectiveRule): string =>
  `"${r.source.kind} ${r.source.access} ${r.source.filter}" (line ${r.source.line})`

/** Clients whose effective rules are remembered; beyond it the memo starts over (rules are cheap to rebuild). */
const MEMO_LIMIT = 4096

export class AclPolicy {
  readonly #memo = new Map<string, readonly EffectiveRule[]>()

  constructor (readonly table: AclTable) {}

  /**
   * A client's rules. A pattern using %u does not apply without a username;
   * one whose %u or %c value contains '/', '+' or '#' does not apply either,
   * so "anna/#" as a username cannot widen `sensors/%u/#` to someone else's
   * topics (Mosquitto denies such clients outright).
   */
  rulesFor (subject: AclSubject): readonly EffectiveRule[] {
    const key = `${subject.username === undefined ? '0' : `1${subject.username}`}\u0000${subject.clientId}`
    const memo = this.#memo.get(key)
    if (memo) return memo
    const own = subject.username === undefined ? this.table.anonymous : this.table.users.get(subject.username) ?? []
    const rules: EffectiveRule[] = own.map(source => ({ access: source.access, filter: source.filter, source }))
    for (const source of this.table.patterns) {
      const filter = substitute(source.filter, subject)
      if (filter !== undefined) rules.push({ access: source.access, filter, source })
    }
    if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear()
    this.#memo.set(key, rules)
    return rules
  }

  /** PUBLISH to a topic name. */
  mayWrite (subject: AclSubject, topic: string): AclDecision {
    return this.#check(subject, 'write', topic, (rule) => topicMatches(rule, topic), (rule) => topicMatches(rule, topic))
  }

  /** Delivery of a message on a topic name. */
  mayRead (subject: AclSubject, topic: string): AclDecision {
    return this.#check(subject, 'read', topic, (rule) => topicMatches(rule, topic), (rule) => topicMatches(rule, topic))
  }

  /** SUBSCRIBE to a filter (see the class comment). */
  maySubscribe (subject: AclSubject, filter: string): AclDecision {
    return this.#check(subject, 'read', filter, (rule) => filterCovers(rule, filter), (rule) => filtersOverlap(rule, filter))
  }

  #check (subject: AclSubject, want: 'read' | 'write', what: string, denies: (rule: string) => boolean, grants: (rule: string) => boolean): AclDecision {
    const rules = this.rulesFor(subject)
    for (const rule of rules) {
      if (rule.access === 'deny' && denies(rule.filter)) return { allowed: false, reason: `denied by ${describe(rule)}` }
    }
    for (const rule of rules) {
      if ((rule.access === want || rule.access === 'readwrite') && grants(rule.filter)) return { allowed: true, reason: `granted by ${describe(rule)}` }
    }
    const who = subject.username === undefined ? `client "${subject.clientId}" (no username)` : `user "${subject.username}"`
    return { allowed: false, reason: `no ACL rule grants ${want} on "${what.slice(0, 200)}" to ${who}` }
  }
}

/** Fills %u and %c in one pass (so a username containing "%c" is not expanded again); undefined when the pattern cannot apply. */
function substitute (pattern: string, { username, clientId }: AclSubject): string | undefined {
  let applies = true
  const filter = pattern.replace(/%[uc]/g, (token) => {
    const value = token === '%u' ? username : clientId
    if (value === undefined || value === '' || UNSAFE_IN_PATTERN.test(value)) {
      applies = false
      return token
    }
    return value
  })
  return applies ? filter : undefined
}
