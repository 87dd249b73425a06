import { createRequire } from 'node:module'

/** A packet as aedes hands it to a store: plain fields, payload a Buffer or a string. */
export type PacketLike = Record<string, unknown> & { messageId?: number | undefined }

const require = createRequire(import.meta.url)
const { Packet } = require('aedes-persistence') as {
  Packet: new (original: object, broker?: object) => PacketLike
}

/**
 * aedes' own packet wrapper (re-exported by aedes-persistence): the queues
 * store exactly the shape the in-memory reference stores.
 */
export function wrapPacket (original: object): PacketLike {
  return new Packet(original)
}
