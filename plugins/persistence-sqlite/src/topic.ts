/**
 * Where a retained-message lookup can start: the literal levels of a filter
 * before its first wildcard. Wildcards fill whole levels, so the prefix of a
 * wildcard filter is empty or ends with '/'.
 */
export interface PrefixRange {
  /** The filter has no wildcard: look it up by its exact topic. */
  readonly exact?: string
  /** Topics from `from` (inclusive) to `to` (exclusive), in byte order. */
  readonly from?: string
  readonly to?: string
  /** A filter ending in '/#' also matches its parent topic (MQTT-4.7.1-2). */
  readonly parent?: string
}

export function hasWildcard (filter: string): boolean {
  return filter.includes('+') || filter.includes('#')
}

export function prefixRange (filter: string): PrefixRange {
  if (!hasWildcard(filter)) return { exact: filter }
  const levels = filter.split('/')
  const literal: string[] = []
  for (const level of levels) {
    if (level === '+' || level === '#') break
    literal.push(level)
  }
  if (literal.length === 0) return {}
  const prefix = literal.join('/') + '/'
  // '0' is the byte after '/', so [prefix, prefix-with-'0') holds exactly the topics starting with prefix.
  const range = { from: prefix, to: prefix.slice(0, -1) + '0' }
  return literal.length === levels.length - 1 && levels.at(-1) === '#'
    ? { ...range, parent: literal.join('/') }
    : range
}
