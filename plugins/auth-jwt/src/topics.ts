/**
 * Relations between MQTT 3.1.1 topic filters (§4.7), for ACL checks:
 * whether a granted filter covers a requested one, and whether two filters
 * can match a common topic. Both honour MQTT-4.7.2-1: a filter starting with
 * a wildcard never matches a topic starting with `$` (so `#` does not reach
 * `$SYS/...`). Filters are assumed valid (check with core's topicFilterProblem).
 */

const isWildcard = (level: string): boolean => level === '+' || level === '#'

/** At the first level, a wildcard on one side and a `$` literal on the other can never meet. */
function dollarClash (wild: string, literal: string): boolean {
  return isWildcard(wild) && !isWildcard(literal) && literal.startsWith('$')
}

/**
 * Whether every topic `requested` can match is matched by `granted`.
 * `sensors/anna/#` covers `sensors/anna/+/temp` and `sensors/anna`
 * (`#` also matches the parent level); `#` is covered only by `#` (and its
 * equivalent `+/#`); `+` is covered by `+` or `#`, never by a literal.
 */
export function filterCovers (granted: string, requested: string): boolean {
  const g = granted.split('/')
  const r = requested.split('/')
  for (let i = 0; ; i++) {
    const gl = g[i]
    const rl = r[i]
    if (gl === undefined) return rl === undefined
    if (i === 0 && rl !== undefined && dollarClash(gl, rl)) return false
    if (gl === '#') return true
    if (rl === undefined) return false // requested is shorter: granted needs more levels
    if (rl === '#') {
      // requested reaches any depth, and its parent level too; only '#' covers that, or at the
      // top (where there is no parent topic) the equivalent '+/#'.
      return i === 0 && gl === '+' && g.length === 2 && g[1] === '#'
    }
    if (gl === '+') continue
    if (rl === '+' || rl !== gl) return false
  }
}

/** Whether some topic is matched by both filters. */
export function filtersIntersect (a: string, b: string): boolean {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; ; i++) {
    const xl = x[i]
    const yl = y[i]
    if (xl === undefined || yl === undefined) {
      // One ended: they meet only if the other continues with '#' (which matches the parent level).
      return (xl === undefined && (yl === undefined || yl === '#')) || (yl === undefined && xl === '#')
    }
    if (i === 0 && (dollarClash(xl, yl) || dollarClash(yl, xl))) return false
    if (xl === '#' || yl === '#') return true
    if (xl === '+' || yl === '+') continue
    if (xl !== yl) return false
  }
}

/** Whether a filter has a wildcard level. */
export function hasWildcard (filter: string): boolean {
  return filter.split('/').some(isWildcard)
}
