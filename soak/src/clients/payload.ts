/**
 * The soak payload: [0..8) send time as epoch ms (float64, sub-ms precision),
 * [8..12) the stream's sequence number, then padding. The topic names the
 * stream, so (topic, seq) identifies a message across processes.
 */
const HEADER = 12

/** Epoch ms with sub-ms precision; comparable across processes on one host. */
export const nowMs = (): number => performance.timeOrigin + performance.now()

export function encode (seq: number, size: number): Buffer {
  const buf = Buffer.alloc(Math.max(size, HEADER))
  buf.writeDoubleBE(nowMs(), 0)
  buf.writeUInt32BE(seq, 8)
  return buf
}

export function decode (payload: Buffer): { sentAt: number, seq: number } | undefined {
  if (payload.length < HEADER) return undefined
  return { sentAt: payload.readDoubleBE(0), seq: payload.readUInt32BE(8) }
}
