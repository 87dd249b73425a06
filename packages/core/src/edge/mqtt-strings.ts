import { isUtf8 } from 'node:buffer'

/**
 * MQTT 3.1.1 rules for strings on the wire (§1.5.3, §4.7), checked on raw
 * bytes: the packet parser decodes invalid UTF-8 into U+FFFD, after which
 * the violation can no longer be told apart from a real U+FFFD.
 */

/** Why these bytes are not an acceptable MQTT UTF-8 string, or undefined. */
export function utf8Problem (bytes: Buffer): string | undefined {
  if (!isUtf8(bytes)) return 'is not well-formed UTF-8' // MQTT-1.5.3-1
  if (bytes.includes(0)) return 'contains the NUL character' // MQTT-1.5.3-2
  return undefined
}

function levelCount (bytes: Buffer): number {
  let levels = 1
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x2f) levels++
  return levels
}

/** Why these bytes are not a valid PUBLISH topic name, or undefined. */
export function topicNameBytesProblem (bytes: Buffer, maxLevels: number): string | undefined {
  if (bytes.length === 0) return 'topic name is empty' // MQTT-4.7.3-1
  const text = utf8Problem(bytes)
  if (text) return `topic name ${text}`
  if (bytes.includes(0x2b) || bytes.includes(0x23)) return 'topic name contains a wildcard (+ or #)' // MQTT-3.3.2-2
  if (levelCount(bytes) > maxLevels) return `topic name has more than ${maxLevels} levels`
  return undefined
}

/** Why these bytes are not a valid topic filter, or undefined. */
export function topicFilterBytesProblem (bytes: Buffer, maxLevels: number): string | undefined {
  if (bytes.length === 0) return 'topic filter is empty' // MQTT-4.7.3-1
  const text = utf8Problem(bytes)
  if (text) return `topic filter ${text}`
  if (levelCount(bytes) > maxLevels) return `topic filter has more than ${maxLevels} levels`
  let start = 0
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x2f) continue
    const level = bytes.subarray(start, i)
    const hasHash = level.includes(0x23)
    const hasPlus = level.includes(0x2b)
    if (hasHash && (level.length !== 1 || i !== bytes.length)) return "topic filter has '#' that is not a whole, last level" // MQTT-4.7.1-2
    if (hasPlus && level.length !== 1) return "topic filter has '+' that is not a whole level" // MQTT-4.7.1-3
    start = i + 1
  }
  return undefined
}
