/**
 * Packet mutators: each takes one encoded packet and returns bytes that are
 * wrong in one specific way. Byte-level ones (bit flips, truncation, splices)
 * find parser bugs; structure-aware ones (a lying remaining length, invalid
 * UTF-8 in a topic, QoS 3, reserved CONNECT flags) keep the rest of the packet
 * well-formed so it gets past the parser and into the broker's handlers.
 */
import type { SeededRandom } from '@embedmq/testing'
import { encodeLength, firstStringOffset, frame, MAX_REMAINING_LENGTH, PacketType, readHeader, stringField } from './wire.js'

export type MutationName =
  | 'bitflip' | 'boundary' | 'truncate' | 'insert' | 'delete' | 'splice' | 'duplicate'
  | 'lengthShort' | 'lengthLong' | 'length5' | 'lengthHuge' | 'lengthNonMinimal' | 'emptyBody'
  | 'headerByte' | 'qos3'
  | 'badUtf8' | 'nulInString' | 'wildcardTopic' | 'stringLength' | 'emptyString'
  | 'connectFlags' | 'protocolLevel' | 'zeroId' | 'dropPacketId'

export interface Mutated {
  bytes: Buffer
  ops: MutationName[]
}

const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff] as const

/** Byte sequences that are not valid UTF-8 (MQTT-1.5.3-1) or are forbidden code points (MQTT-1.5.3-2: U+0000). */
const BAD_UTF8: readonly Buffer[] = [
  Buffer.from([0xc0, 0x80]), // overlong NUL
  Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate half
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xfe]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0xe0, 0x80, 0x80]), // overlong
  Buffer.from([0xe6, 0x97]), // truncated 3-byte sequence
  Buffer.from([0x80]), // lone continuation byte
  Buffer.from([0x00])
]

type Operator = (rng: SeededRandom, bytes: Buffer, donor: Buffer) => Buffer | undefined

/** The packet split into first byte and body, when its header is readable and the body complete. */
function parts (bytes: Buffer): { first: number, type: number, body: Buffer } | undefined {
  const header = readHeader(bytes)
  if (!header || bytes.length < header.headerBytes + header.length) return undefined
  return { first: bytes[0]!, type: header.type, body: bytes.subarray(header.headerBytes, header.headerBytes + header.length) }
}

/** Rewrites the first string field of the packet with `edit`, fixing the remaining length so only the string is wrong. */
function editString (bytes: Buffer, edit: (content: Buffer) => Buffer, declared?: (real: number) => number): Buffer | undefined {
  const p = parts(bytes)
  if (!p) return undefined
  const at = firstStringOffset(p.type, p.body)
  if (at === undefined || p.body.length < at + 2) return undefined
  const end = Math.min(p.body.length, at + 2 + p.body.readUInt16BE(at))
  const content = edit(p.body.subarray(at + 2, end))
  const field = stringField(content, declared ? declared(content.length) : content.length)
  return frame(p.first, Buffer.concat([p.body.subarray(0, at), field, p.body.subarray(end)]))
}

function insertAt (rng: SeededRandom, content: Buffer, extra: Buffer): Buffer {
  const i = rng.int(content.length + 1)
  return Buffer.concat([content.subarray(0, i), extra, content.subarray(i)])
}

/** Rewrites the declared remaining length, keeping the body. */
function relength (bytes: Buffer, length: (real: number) => Buffer): Buffer | undefined {
  const header = readHeader(bytes)
  if (!header) return undefined
  const body = bytes.subarray(header.headerBytes)
  return Buffer.concat([bytes.subarray(0, 1), length(body.length), body])
}

const OPERATORS: Record<MutationName, Operator> = {
  bitflip: (rng, bytes) => {
    const out = Buffer.from(bytes)
    for (let n = rng.range(1, 4); n > 0; n--) {
      // a third of the flips land in the fixed header, where one bit changes the packet's meaning
      const i = rng.chance(0.33) ? rng.int(Math.min(5, out.length)) : rng.int(out.length)
      out[i] = out[i]! ^ (1 << rng.int(8))
    }
    return out
  },
  boundary: (rng, bytes) => {
    const out = Buffer.from(bytes)
    out[rng.int(out.length)] = rng.pick(BOUNDARY_BYTES)
    return out
  },
  truncate: (rng, bytes) => (bytes.length > 1 ? bytes.subarray(0, rng.range(1, bytes.length - 1)) : undefined),
  insert: (rng, bytes) => insertAt(rng, bytes, rng.chance(0.5) ? rng.bytes(rng.range(1, 16)) : Buffer.alloc(rng.range(1, 16), rng.pick(BOUNDARY_BYTES))),
  delete: (rng, bytes) => {
    if (bytes.length < 2) return undefined
    const from = rng.int(bytes.length)
    const to = Math.min(bytes.length, from + rng.range(1, 16))
    return Buffer.concat([bytes.subarray(0, from), bytes.subarray(to)])
  },
  splice: (rng, bytes, donor) => Buffer.concat([bytes.subarray(0, rng.int(bytes.length + 1)), donor.subarray(rng.int(donor.length))]),
  duplicate: (rng, bytes) => {
    if (rng.chance(0.5)) return Buffer.concat([bytes, bytes])
    const from = rng.int(bytes.length)
    const slice = bytes.subarray(from, from + rng.range(1, 32))
    return insertAt(rng, bytes, slice)
  },
  lengthShort: (rng, bytes) => relength(bytes, real => encodeLength(Math.max(0, real - rng.range(1, Math.max(1, Math.min(real, 8)))))),
  lengthLong: (rng, bytes) => relength(bytes, real => encodeLength(real + rng.weighted([[4, rng.range(1, 8)], [1, rng.range(100, 10_000)]]))),
  length5: (_rng, bytes) => relength(bytes, () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])),
  // Declares far more than maxPacketSize (or just past it): must be refused from the header, not buffered.
  lengthHuge: (rng, bytes) => relength(bytes, () => encodeLength(rng.pick([MAX_REMAINING_LENGTH, 1024 * 1024 + 1, 2_097_152, 16_384_000]))),
  lengthNonMinimal: (rng, bytes) => relength(bytes, real => encodeLength(real, rng.range(2, 4))),
  emptyBody: (_rng, bytes) => Buffer.from([bytes[0]!, 0x00]),
  headerByte: (rng, bytes) => {
    const out = Buffer.from(bytes)
    const type = out[0]! >> 4
    out[0] = rng.weighted([
      [2, () => rng.pick([0x00, 0xf0, 0x20, 0x90, 0xb0, 0xd0])], // reserved, or server-to-client types
      [3, () => (type << 4) | rng.int(16)], // right type, wrong flags (e.g. SUBSCRIBE without 0x02)
      [1, () => rng.int(256)]
    ])()
    return out
  },
  qos3: (_rng, bytes) => {
    if (bytes[0]! >> 4 !== PacketType.PUBLISH) return undefined
    const out = Buffer.from(bytes)
    out[0] = out[0]! | 0x06
    return out
  },
  badUtf8: (rng, bytes) => editString(bytes, content => (rng.chance(0.5) ? insertAt(rng, content, rng.pick(BAD_UTF8)) : rng.pick(BAD_UTF8))),
  nulInString: (rng, bytes) => editString(bytes, content => insertAt(rng, content, Buffer.from([0x00]))),
  wildcardTopic: (rng, bytes) => editString(bytes, content => insertAt(rng, content, Buffer.from(rng.pick(['#', '+', '/#', '/+/', '#/a', '+#'])))),
  stringLength: (rng, bytes) => editString(bytes, content => content,
    real => rng.pick([0, 0xffff, real + 1, Math.max(0, real - 1), real + rng.range(2, 300)])),
  emptyString: (_rng, bytes) => editString(bytes, () => Buffer.alloc(0)),
  connectFlags: (rng, bytes) => {
    const p = parts(bytes)
    if (!p || p.type !== PacketType.CONNECT || p.body.length < 2) return undefined
    const at = 2 + p.body.readUInt16BE(0) + 1
    if (p.body.length <= at) return undefined
    const body = Buffer.from(p.body)
    const flags = body[at]!
    body[at] = rng.pick([
      flags | 0x01, // reserved bit (MQTT-3.1.2-3)
      flags | 0x04, // will flag without will topic/message present
      flags | 0x18, // will QoS 3
      (flags & ~0x04) | 0x20, // will retain without will flag
      (flags & ~0x80) | 0x40, // password without username
      flags ^ 0x02,
      rng.int(256)
    ])
    return frame(p.first, body)
  },
  protocolLevel: (rng, bytes) => {
    const p = parts(bytes)
    if (!p || p.type !== PacketType.CONNECT || p.body.length < 2) return undefined
    const body = Buffer.from(p.body)
    if (rng.chance(0.3)) {
      body[2 + rng.int(Math.max(1, body.readUInt16BE(0)))] = rng.int(256) // protocol name
    } else {
      const at = 2 + body.readUInt16BE(0)
      if (body.length <= at) return undefined
      body[at] = rng.pick([0, 1, 2, 3, 5, 6, 0x83, 0xff])
    }
    return frame(p.first, body)
  },
  // A packet that needs a packet identifier but has none, with a remaining length that says so:
  // QoS 1/2 PUBLISH without it (and maybe without payload), acks and (UN)SUBSCRIBE with 0 or 1 byte.
  dropPacketId: (rng, bytes) => {
    const p = parts(bytes)
    if (!p) return undefined
    if (p.type === PacketType.PUBLISH) {
      if (((p.first >> 1) & 3) === 0 || p.body.length < 2) return undefined
      const idAt = 2 + p.body.readUInt16BE(0)
      if (p.body.length < idAt + 2) return undefined
      const rest = rng.chance(0.5) ? p.body.subarray(idAt + 2) : Buffer.alloc(0)
      return frame(p.first, Buffer.concat([p.body.subarray(0, idAt), rest]))
    }
    if (p.type >= PacketType.PUBACK && p.type <= PacketType.UNSUBSCRIBE && p.type !== PacketType.SUBACK) {
      return frame(p.first, p.body.subarray(0, rng.int(2)))
    }
    return undefined
  },
  zeroId: (_rng, bytes) => {
    const p = parts(bytes)
    if (!p) return undefined
    let at: number | undefined
    if (p.type === PacketType.PUBLISH) {
      if (((p.first >> 1) & 3) === 0 || p.body.length < 2) return undefined
      at = 2 + p.body.readUInt16BE(0)
    } else if (p.type >= PacketType.PUBACK && p.type <= PacketType.UNSUBSCRIBE && p.type !== PacketType.SUBACK) {
      at = 0
    }
    if (at === undefined || p.body.length < at + 2) return undefined
    const body = Buffer.from(p.body)
    body.writeUInt16BE(0, at)
    return frame(p.first, body)
  }
}

/** How often each operator is chosen; structure-aware ones weigh more since they reach further. */
const WEIGHTS: ReadonlyArray<readonly [number, MutationName]> = [
  [8, 'bitflip'], [5, 'boundary'], [6, 'truncate'], [4, 'insert'], [4, 'delete'], [4, 'splice'], [3, 'duplicate'],
  [4, 'lengthShort'], [4, 'lengthLong'], [2, 'length5'], [2, 'lengthHuge'], [2, 'lengthNonMinimal'], [2, 'emptyBody'],
  [4, 'headerByte'], [3, 'qos3'],
  [7, 'badUtf8'], [5, 'nulInString'], [6, 'wildcardTopic'], [4, 'stringLength'], [3, 'emptyString'],
  [4, 'connectFlags'], [3, 'protocolLevel'], [3, 'zeroId'], [3, 'dropPacketId']
]

/** Applies one to three mutations (stacked); operators that don't apply to this packet are retried with another. */
export function mutate (rng: SeededRandom, bytes: Buffer, donor: Buffer): Mutated {
  let out = bytes
  const ops: MutationName[] = []
  const wanted = rng.weighted([[7, 1], [2, 2], [1, 3]])
  for (let attempts = 0; ops.length < wanted && attempts < 12; attempts++) {
    const name = rng.weighted(WEIGHTS)
    const result = out.length === 0 ? undefined : OPERATORS[name](rng, out, donor)
    if (result === undefined || result.length === 0) continue
    out = result
    ops.push(name)
  }
  return { bytes: out, ops }
}
