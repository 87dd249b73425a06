/**
 * MQTT 3.1.1 framing at byte level: the fixed header and its variable-length
 * "remaining length". mqtt-packet only builds valid packets; the mutators
 * need to take packets apart and put them back with lengths that lie.
 */

/** Largest value a 4-byte remaining length can carry (MQTT 3.1.1 §2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455

/** Packet type numbers (high nibble of the first byte). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14
} as const

/** Encodes a remaining length; `minBytes` pads with 0x80 continuation bytes (non-minimal, or 5 bytes: malformed). */
export function encodeLength (n: number, minBytes = 1): Buffer {
  const out: number[] = []
  let value = n
  do {
    let byte = value % 128
    value = Math.floor(value / 128)
    if (value > 0 || out.length + 1 < minBytes) byte |= 0x80
    out.push(byte)
  } while (value > 0 || out.length < minBytes)
  return Buffer.from(out)
}

export interface FixedHeader {
  type: number
  flags: number
  /** The declared remaining length. */
  length: number
  /** Bytes taken by the fixed header (1 + length bytes). */
  headerBytes: number
}

/** Reads a fixed header, or undefined when `buf` does not start with a complete, well-formed one. */
export function readHeader (buf: Buffer): FixedHeader | undefined {
  if (buf.length < 2) return undefined
  let length = 0
  let multiplier = 1
  for (let i = 1; i < 5 && i < buf.length; i++) {
    const byte = buf[i]!
    length += (byte & 0x7f) * multiplier
    multiplier *= 128
    if ((byte & 0x80) === 0) return { type: buf[0]! >> 4, flags: buf[0]! & 0x0f, length, headerBytes: i + 1 }
  }
  return undefined
}

/** A packet with `first` as its first byte and `body` after a correct remaining length. */
export function frame (first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first & 0xff]), encodeLength(body.length), body])
}

/** An MQTT UTF-8 string field: 2-byte big-endian length, then the bytes (which need not be valid UTF-8). */
export function stringField (bytes: Buffer, declaredLength = bytes.length): Buffer {
  const out = Buffer.allocUnsafe(2 + bytes.length)
  out.writeUInt16BE(declaredLength & 0xffff, 0)
  bytes.copy(out, 2)
  return out
}

/**
 * Offset, within a packet's body, of the first UTF-8 string field worth
 * corrupting: PUBLISH topic, first SUBSCRIBE/UNSUBSCRIBE filter, CONNECT
 * client id. Undefined for packets without one.
 */
export function firstStringOffset (type: number, body: Buffer): number | undefined {
  switch (type) {
    case PacketType.PUBLISH:
      return 0
    case PacketType.SUBSCRIBE:
    case PacketType.UNSUBSCRIBE:
      return 2 // after the packet identifier
    case PacketType.CONNECT: {
      // protocol name string, then level (1), flags (1), keepalive (2), then the client id
      if (body.length < 2) return undefined
      return 2 + body.readUInt16BE(0) + 4
    }
    default:
      return undefined
  }
}
