import { topicFilterProblem } from '@embedmq/core'
import { z } from 'zod'

/** A prefix is a topic fragment without wildcards; it is joined to the pattern as is (include the trailing '/'). */
const prefix = z.string().default('').refine(p => !p.includes('+') && !p.includes('#') && !p.includes('\u0000'), 'a prefix may not contain wildcards (+ #) or NUL')

/**
 * One topic mapping, in the spirit of Mosquitto's
 * `topic <pattern> <direction> <qos> <local-prefix> <remote-prefix>`:
 * `localPrefix + pattern` here is `remotePrefix + pattern` there.
 */
export const mappingSchema = z.strictObject({
  /** A topic filter (wildcards allowed) below the prefixes, e.g. 'line1/#'. */
  pattern: z.string().min(1),
  /** out: local → remote; in: remote → local; both. */
  direction: z.enum(['out', 'in', 'both']).default('out'),
  /** The highest QoS used on the way; a message keeps a lower QoS of its own. */
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
  localPrefix: prefix,
  remotePrefix: prefix
}).superRefine((m, ctx) => {
  for (const [side, full] of [['local', m.localPrefix + m.pattern], ['remote', m.remotePrefix + m.pattern]] as const) {
    const problem = topicFilterProblem(full)
    if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: `the ${side} filter "${full}" ${problem}` })
  }
})

const pemOrFile = z.string().min(1)

export const bridgeSchema = z.strictObject({
  /** Unique per broker; names the state topic `$SYS/bridges/<name>/state` and the local session. */
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -'),
  /** The remote broker: mqtt://, mqtts://, ws:// or wss:// (ws paths included, e.g. wss://host/mqtt). */
  url: z.string().refine((u) => {
    try { return ['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(new URL(u).protocol) } catch { return false }
  }, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
  /** Client id at the remote. Default: `embedmq-bridge-<name>-<broker id prefix>`. */
  clientId: z.string().min(1).max(256).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Whether the remote session starts clean. Default false, as Mosquitto's bridges: 'in' messages wait at the remote while we are away. */
  cleanSession: z.boolean().default(false),
  keepaliveSeconds: z.number().int().min(0).max(65535).default(60),
  /**
   * Connect in bridge mode (protocol level 0x84): Mosquitto, EMQX and embedmq
   * then never send the bridge its own messages back, which is what keeps
   * 'both' mappings from looping. Turn off only for a remote that refuses it.
   */
  tryPrivate: z.boolean().default(true),
  /** TLS for mqtts:// and wss://: PEM text or file paths (relative to the config file). */
  tls: z.strictObject({
    ca: pemOrFile.optional(),
    cert: pemOrFile.optional(),
    key: pemOrFile.optional(),
    rejectUnauthorized: z.boolean().default(true),
    servername: z.string().optional()
  }).optional(),
  topics: z.array(mappingSchema).min(1, 'a bridge needs at least one topic mapping'),
  /** Reconnect delay: exponential from initialDelayMs to maxDelayMs, each randomised down by up to `jitter`. */
  reconnect: z.strictObject({
    initialDelayMs: z.number().int().min(10).default(1000),
    maxDelayMs: z.number().int().min(10).default(30_000),
    jitter: z.number().min(0).max(1).default(0.3)
  }).prefault({}),
  /** Outgoing QoS 1/2 messages awaiting the remote's acknowledgement before the bridge takes no more from the local queue. */
  maxInflight: z.number().int().min(1).max(65535).default(100),
  /** How long the remote may take to answer CONNECT. */
  connectTimeoutMs: z.number().int().min(100).default(10_000)
})

export type MappingOptions = z.output<typeof mappingSchema>
export type BridgeOptions = z.output<typeof bridgeSchema>
export type BridgeOptionsInput = z.input<typeof bridgeSchema>

export const bridgeMqttOptionsSchema = z.strictObject({
  bridges: z.array(bridgeSchema).default([]).superRefine((bridges, ctx) => {
    const seen = new Set<string>()
    bridges.forEach((b, i) => {
      if (seen.has(b.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `bridge name "${b.name}" is used twice` })
      seen.add(b.name)
    })
  })
})

export type BridgeMqttOptions = z.output<typeof bridgeMqttOptionsSchema>
export type BridgeMqttOptionsInput = z.input<typeof bridgeMqttOptionsSchema>

/** Turns zod issues into one line naming each field. */
export function describeIssues (issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>, message: string }>): string {
  return issues.map(i => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`).join('; ')
}
