import { topicMatches, type QoS } from '@embedmq/core'
import type { MappingOptions } from './options.js'

/** A mapping ready to use: the filters on each side and the topic rewrite between them. */
export interface Mapping {
  readonly localFilter: string
  readonly remoteFilter: string
  readonly out: boolean
  readonly in: boolean
  readonly qos: QoS
  readonly localPrefix: string
  readonly remotePrefix: string
}

export function compileMappings (options: readonly MappingOptions[]): Mapping[] {
  return options.map(m => ({
    localFilter: m.localPrefix + m.pattern,
    remoteFilter: m.remotePrefix + m.pattern,
    out: m.direction !== 'in',
    in: m.direction !== 'out',
    qos: m.qos,
    localPrefix: m.localPrefix,
    remotePrefix: m.remotePrefix
  }))
}

/**
 * Where a local message goes at the remote: the first outgoing mapping whose
 * local filter matches decides (so overlapping mappings forward it once).
 */
export function toRemote (mappings: readonly Mapping[], localTopic: string): { topic: string, qos: QoS } | undefined {
  for (const m of mappings) {
    if (m.out && topicMatches(m.localFilter, localTopic)) {
      return { topic: m.remotePrefix + localTopic.slice(m.localPrefix.length), qos: m.qos }
    }
  }
  return undefined
}

/** Where a remote message goes here: the first incoming mapping whose remote filter matches. */
export function toLocal (mappings: readonly Mapping[], remoteTopic: string): { topic: string, qos: QoS } | undefined {
  for (const m of mappings) {
    if (m.in && topicMatches(m.remoteFilter, remoteTopic)) {
      return { topic: m.localPrefix + remoteTopic.slice(m.remotePrefix.length), qos: m.qos }
    }
  }
  return undefined
}

/** Subscriptions for one side: each filter once, at the highest QoS any mapping asks for it. */
export function subscriptionsFor (mappings: readonly Mapping[], side: 'local' | 'remote'): Record<string, { qos: QoS }> {
  const subs: Record<string, { qos: QoS }> = {}
  for (const m of mappings) {
    if (side === 'local' ? !m.out : !m.in) continue
    const filter = side === 'local' ? m.localFilter : m.remoteFilter
    const qos = Math.max(subs[filter]?.qos ?? 0, m.qos) as QoS
    subs[filter] = { qos }
  }
  return subs
}

export function lowerQos (a: QoS, b: QoS): QoS {
  return (a < b ? a : b)
}
