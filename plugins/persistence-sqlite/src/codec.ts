import { deserialize, serialize } from 'node:v8'

/**
 * Packets are stored as V8 structured-clone bytes: Buffers (payloads, MQTT 5
 * correlation data), string payloads and keys holding `undefined` (aedes'
 * unassigned `messageId`) all round-trip exactly, which JSON would not.
 * Node reads the format of every earlier version, so a file outlives upgrades.
 */
export type StoredPacket = Record<string, unknown>

export function encodePacket (packet: object): Buffer {
  return serialize(packet)
}

export function decodePacket (bytes: Buffer): StoredPacket {
  return deserialize(bytes) as StoredPacket
}
