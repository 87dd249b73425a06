/**
 * MQTT wildcard relations between two topic filters, for checking a
 * SUBSCRIBE against ACL rules (which are filters too). Both follow
 * MQTT-4.7.2-1: a filter starting with a wildcard matches no topic that
 * starts with '$', so a `#` rule never opens `$SYS/…`.
 * Concrete topics (PUBLISH, deliveries) use core's `topicMatches`.
 */

const startsWithWildcard = (level: string | undefined): boolean => level === '#' || level === '+'

/** The first level of a filter that can only match '$' topics (a literal starting with '$'). */
const dollarOnly = (level: string | undefined): boolean => level !== undefined && level.startsWith('$')

/** Whether some topic matches both filters. */
export function filtersOverlap (a: string, b: string): boolean {
  const x = a.split('/')
  const y = b.split('/')
  if ((startsWithWildcard(x[0]) && dollarOnly(y[0])) || (startsWithWildcard(y[0]) && dollarOnly(x[0]))) return false
  for (let i = 0; ; i++) {
    const l = x[i]
    const m = y[i]
    if (l === '#' || m === '#') return true
    if (l === undefined || m === undefined) return l === m
    if (l !== '+' && m !== '+' && l !== m) return false
  }
}

/** Whether every topic `inner` matches is also matched by `outer`. */
export function filterCovers (outer: string, inner: string): boolean {
  const o = outer.split('/')
  const n = inner.split('/')
  if (startsWithWildcard(o[0]) && dollarOnly(n[0])) return false
  for (let i = 0; ; i++) {
    const l = o[i]
    const m = n[i]
    if (l === '#') return true
    if (m === '#') return false
    if (l === undefined || m === undefined) return l === m
    if (l === '+') continue
    if (m === '+' || l !== m) return false
  }
}
