/**
 * Valid MQTT 3.1.1 packets, built with mqtt-packet's generate(): the seeds the
 * mutators start from. They are valid so that a lightly mutated session gets
 * past the parser and into the broker's handlers (authorization, QoS flows,
 * subscriptions, retained store), where the interesting state lives.
 */
import { generate, type IConnectPacket, type Packet, type QoS } from 'mqtt-packet'
import type { SeededRandom } from '@embedmq/testing'
import { readHeader } from './wire.js'

export type SeedKind = 'connect' | 'publish' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'subscribe' | 'unsubscribe' | 'pingreq' | 'disconnect'

export interface Seed {
  kind: SeedKind
  bytes: Buffer
}

/** Topic names a PUBLISH may carry: ordinary, unicode, edge-shaped, and prototype keys (aedes keys maps by topic). */
export const TOPICS: readonly string[] = [
  'a', 'a/b', 'a/b/c', 'sensors/temp/1', 'sensors/temp/2', 'fuzz/echo',
  '/', '/leading', 'trailing/', 'a//b', ' ', 'x y/z',
  'ünïcødé/温度/🌡️', 'emoji/😀/𝄞', 'rtl/שלום/مرحبا', '\uFEFFbom', 'ctrl/\u0001\u001f', 'nonchar/\uFFFF',
  '$share/g/a', '$fuzz/dollar',
  '__proto__', 'constructor', 'a/__proto__/b', 'hasOwnProperty', 'toString/valueOf',
  'l/'.repeat(31) + 'l', // at the 32-level limit
  'x'.repeat(2000)
]

/** Topics the broker refuses (reserved prefixes, too many levels); rarer, since a refusal usually ends the session. */
export const REFUSED_TOPICS: readonly string[] = ['$SYS/fuzz', '$embedmq/dropped', 'l/'.repeat(40) + 'l']

/** Valid filters, wildcards and all. */
export const FILTERS: readonly string[] = [
  '#', '+', '+/+', 'a/#', 'a/+', 'a/+/c', 'sensors/+/1', 'sensors/#', '+/#', '/#', '$SYS/#', '$embedmq/#', '$fuzz/#',
  'fuzz/echo', 'a', 'a/b', 'ünïcødé/#', 'emoji/+/𝄞', '__proto__', 'constructor/#', '+/__proto__', '$share/g/#'
]

/** Filters with misplaced wildcards or too many levels: the broker must refuse them without falling over. */
export const BAD_FILTERS: readonly string[] = ['a/#/b', 'a#', 'a+/b', '##', '+a', '#/', 'l/'.repeat(40) + '#']

/** Client ids: a small pool (so takeovers and persistent sessions recur) plus odd shapes. */
const CLIENT_IDS: readonly string[] = ['fuzz-a', 'fuzz-b', 'fuzz-c', 'fuzz-d', 'fuzz-e', 'fuzz-f', 'fuzz-g', 'fuzz-h']

export function randomTopic (rng: SeededRandom): string {
  if (rng.chance(0.04)) return rng.pick(REFUSED_TOPICS)
  return rng.chance(0.8) ? rng.pick(TOPICS) : `${rng.pick(TOPICS)}/${rng.int(8)}`
}

export function randomFilter (rng: SeededRandom): string {
  if (rng.chance(0.04)) return rng.pick(BAD_FILTERS)
  return rng.chance(0.75) ? rng.pick(FILTERS) : rng.pick(TOPICS)
}

function payload (rng: SeededRandom): Buffer {
  return rng.weighted<() => Buffer>([
    [3, () => Buffer.alloc(0)],
    [6, () => Buffer.from(`hello ${rng.int(1000)}`)],
    [4, () => rng.bytes(rng.skewed(512))],
    [2, () => Buffer.from(JSON.stringify({ t: rng.int(100), u: 'ü'.repeat(rng.int(10)) }))],
    [1, () => Buffer.alloc(rng.range(16_000, 70_000), rng.int(256))], // crosses 16/64 KiB buffer boundaries
    [0.2, () => Buffer.alloc(rng.range(200_000, 400_000), 0x61)]
  ])()
}

const qos = (rng: SeededRandom): QoS => rng.pick([0, 1, 2] as const)

function messageId (rng: SeededRandom, used: number[]): number {
  if (used.length > 0 && rng.chance(0.6)) return rng.pick(used)
  // 0 is not a valid packet identifier (MQTT-2.3.1-1) but generate() writes it; the broker must cope.
  return rng.weighted([[1, 0], [1, 65535], [8, rng.range(1, 65535)]])
}

/** What a session remembers so later seeds refer to earlier ones (PUBREL for an id it published at QoS 2, etc.). */
export interface SeedContext {
  ids: number[]
}

/**
 * A valid CONNECT (3.1.1, sometimes 3.1): will, credentials, clean 0/1, empty
 * or odd client ids. Flag combinations mqtt-packet refuses to build (empty id
 * with clean 0, password without username) are made by flipping flag bits.
 */
export function connectSeed (rng: SeededRandom): Buffer {
  const idChoice = rng.int(10)
  const clientId = idChoice < 5
    ? rng.pick(CLIENT_IDS)
    : idChoice < 8 ? `fuzz-${rng.uint32().toString(36)}`
      : rng.pick(['', 'ünïcødé-😀', 'x'.repeat(300), '__proto__', ' '])
  // Unique ids are always clean: an abandoned persistent session keeps queueing every QoS 1/2 message it
  // matches, forever (aedes has no offline-queue limit), which would pile up over a long run and hide leaks.
  const clean = idChoice >= 5 && idChoice < 8 ? true : rng.chance(0.6)
  const v31 = rng.chance(0.1)
  const packet: IConnectPacket = {
    cmd: 'connect',
    protocolId: v31 ? 'MQIsdp' : 'MQTT',
    protocolVersion: v31 ? 3 : 4,
    clientId: clientId === '' && v31 ? 'fuzz-31' : clientId,
    clean: clientId === '' ? true : clean,
    keepalive: rng.weighted([[6, 60], [2, 0], [1, 1], [1, 65535]])
  }
  if (rng.chance(0.3)) {
    packet.will = { topic: randomTopic(rng), payload: payload(rng).subarray(0, 2000), qos: qos(rng), retain: rng.chance(0.3) }
  }
  const password = rng.chance(0.2)
  if (password || rng.chance(0.2)) packet.username = rng.pick(['user', '', 'ünï', 'x'.repeat(500)])
  if (password) packet.password = rng.bytes(rng.int(40))
  const bytes = generate(packet)
  const flagsAt = (readHeader(bytes)?.headerBytes ?? 2) + 2 + (v31 ? 6 : 4) + 1 // after the protocol name and level
  if (clientId === '' && !clean) bytes[flagsAt] = bytes[flagsAt]! & ~0x02 // empty id with clean 0: must get CONNACK 2
  if (packet.username !== undefined && password && rng.chance(0.2)) bytes[flagsAt] = bytes[flagsAt]! & ~0x80 // password without username
  return bytes
}

function build (kind: SeedKind, rng: SeededRandom, ctx: SeedContext): Packet {
  switch (kind) {
    case 'connect':
      throw new Error('CONNECT seeds come from connectSeed()')
    case 'publish': {
      const q = qos(rng)
      const id = q > 0 ? messageId(rng, ctx.ids) : undefined
      if (id !== undefined && !ctx.ids.includes(id) && ctx.ids.length < 16) ctx.ids.push(id)
      return {
        cmd: 'publish',
        topic: randomTopic(rng),
        payload: payload(rng),
        qos: q,
        retain: rng.chance(0.2),
        dup: rng.chance(0.1),
        ...(id === undefined ? {} : { messageId: id })
      }
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { cmd: kind, messageId: messageId(rng, ctx.ids) }
    case 'subscribe': {
      const n = rng.weighted([[6, 1], [3, 3], [1, 12]])
      const subscriptions = Array.from({ length: n }, () => ({ topic: randomFilter(rng), qos: qos(rng) }))
      return { cmd: 'subscribe', messageId: messageId(rng, []), subscriptions }
    }
    case 'unsubscribe': {
      const n = rng.weighted([[6, 1], [3, 3]])
      return { cmd: 'unsubscribe', messageId: messageId(rng, []), unsubscriptions: Array.from({ length: n }, () => randomFilter(rng)) }
    }
    case 'pingreq':
      return { cmd: 'pingreq' }
    case 'disconnect':
      return { cmd: 'disconnect' }
  }
}

/** Relative frequency of each kind after CONNECT: mostly traffic that reaches deep into the broker. */
const KIND_WEIGHTS: ReadonlyArray<readonly [number, SeedKind]> = [
  [30, 'publish'],
  [8, 'puback'],
  [6, 'pubrec'],
  [10, 'pubrel'],
  [5, 'pubcomp'],
  [14, 'subscribe'],
  [6, 'unsubscribe'],
  [6, 'pingreq'],
  [1.5, 'disconnect'],
  [1.5, 'connect'] // a second CONNECT (MQTT-3.1.0-2: the broker must close the connection)
]

/** One valid packet of a random kind (a CONNECT among them, for the second-CONNECT case). */
export function packetSeed (rng: SeededRandom, ctx: SeedContext): Seed {
  const kind = rng.weighted(KIND_WEIGHTS)
  return { kind, bytes: kind === 'connect' ? connectSeed(rng) : generate(build(kind, rng, ctx)) }
}

/** A QoS 2 exchange as a well-behaved client runs it (PUBLISH then PUBREL), so stateful paths are reached too. */
export function qos2Flow (rng: SeededRandom, ctx: SeedContext): Seed[] {
  const id = rng.range(1, 65535)
  ctx.ids.push(id)
  const publish = generate({ cmd: 'publish', topic: randomTopic(rng), payload: payload(rng), qos: 2, retain: rng.chance(0.1), dup: false, messageId: id })
  const pubrel = generate({ cmd: 'pubrel', messageId: id })
  // Sometimes the PUBLISH is retransmitted with DUP before the PUBREL (MQTT-4.3.3-2: delivered once).
  const dup = Buffer.from(publish)
  dup[0] = dup[0]! | 0x08
  return rng.chance(0.3)
    ? [{ kind: 'publish', bytes: publish }, { kind: 'publish', bytes: dup }, { kind: 'pubrel', bytes: pubrel }]
    : [{ kind: 'publish', bytes: publish }, { kind: 'pubrel', bytes: pubrel }]
}
