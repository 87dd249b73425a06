import { Duplex } from 'node:stream'

/**
 * One end of an in-memory connection. A write completes only when the other
 * end has taken the bytes into its read buffer, so backpressure works as on a
 * socket: the broker's slow-consumer bound sees an in-process client that is
 * not reading exactly as it sees a TCP one.
 */
class End extends Duplex {
  peer: End | undefined
  #blockedWrite: (() => void) | undefined

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer
    if (!peer || peer.destroyed) { callback(new Error('in-process connection closed')); return }
    if (peer.push(chunk)) callback()
    else peer.#blockedWrite = callback
  }

  override _read (): void {
    const resume = this.#blockedWrite
    this.#blockedWrite = undefined
    resume?.()
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.peer?.push(null)
    callback()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    // Like a socket reset: the other end closes too.
    const peer = this.peer
    this.peer = undefined
    if (peer && !peer.destroyed) peer.destroy()
    callback(error)
  }
}

/** Two connected streams: what one writes, the other reads. */
export function duplexPair (): [Duplex, Duplex] {
  const a = new End()
  const b = new End()
  a.peer = b
  b.peer = a
  return [a, b]
}
