/**
 * MQTT 3.1.1 topic rules (§4.7), for names and filters that enter through the
 * in-process API and configuration.
 */

function commonProblem (topic: string, maxLevels: number): string | undefined {
  if (topic.length === 0) return 'must not be empty' // MQTT-4.7.3-1
  if (Buffer.byteLength(topic) > 65535) return 'is longer than 65535 bytes'
  if (topic.includes('\u0000')) return 'must not contain the NUL character' // MQTT-4.7.3-2
  if (topic.split('/').length > maxLevels) return `has more than ${maxLevels} levels`
  return undefined
}

/** Why `topic` is not a valid topic name for PUBLISH, or undefined when it is. */
export function topicNameProblem (topic: string, maxLevels = 100): string | undefined {
  return commonProblem(topic, maxLevels) ?? (/[+#]/.test(topic) ? 'must not contain wildcards (+ or #)' : undefined)
}

/** Why `filter` is not a valid subscription filter, or undefined when it is. */
export function topicFilterProblem (filter: string, maxLevels = 100): string | undefined {
  const common = commonProblem(filter, maxLevels)
  if (common) return common
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be a whole level, and the last one" // MQTT-4.7.1-2
    if (level.includes('+') && level !== '+') return "'+' must be a whole level" // MQTT-4.7.1-3
  }
  return undefined
}

/** Whether a topic name matches a filter, with MQTT wildcard semantics. */
export function topicMatches (filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false // MQTT-4.7.2-1
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}
