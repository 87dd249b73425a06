/**
 * Reads MQTT framing (fixed header + remaining length) on raw inbound bytes,
 * before the packet parser buffers them, so a packet that declares more than
 * the allowed size is refused from its first bytes, not after its body has
 * been read into memory. It only counts: packet bodies are skipped, never copied.
 */
export class FrameGuard {
  #inBody = 0 // body bytes still to skip
  #lengthBytes = -1 // -1: expecting a fixed-header byte; >=0: length bytes read so far
  #length = 0
  #multiplier = 1

  constructor (private readonly maxPacketSize: number) {}

  /** Returns why the stream must be closed, or undefined when the bytes are acceptable. */
  inspect (buf: Buffer): string | undefined {
    let i = 0
    const n = buf.length
    while (i < n) {
      if (this.#inBody > 0) {
        const skip = Math.min(this.#inBody, n - i)
        this.#inBody -= skip
        i += skip
        continue
      }
      const byte = buf[i++]!
      if (this.#lengthBytes < 0) {
        this.#lengthBytes = 0
        this.#length = 0
        this.#multiplier = 1
        continue
      }
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      this.#lengthBytes++
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return 'malformed remaining length (more than 4 bytes)'
        continue
      }
      const total = 1 + this.#lengthBytes + this.#length
      if (total > this.maxPacketSize) {
        return `packet of ${total} bytes exceeds the maximum packet size of ${this.maxPacketSize} bytes`
      }
      this.#inBody = this.#length
      this.#lengthBytes = -1
    }
    return undefined
  }
}
