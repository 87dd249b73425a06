import type { Duplex } from 'node:stream'

export interface OutboundRules {
  /** Above this many unsent bytes, QoS 0 messages to this client are dropped. */
  maxBufferedBytes: number
  /** Above this many unsent bytes, or maxQueuedMessages QoS 1/2 messages written since the buffer was last empty, the client is disconnected. */
  maxQueuedBytes: number
  maxQueuedMessages: number
}

/** Why a slow client was disconnected (logged once by the limiter's owner, not again as a connection error). */
export class SlowConsumerError extends Error {
  override name = 'SlowConsumerError'
}

/** Bytes written to a stream but not yet handed to the OS (WebSocket adapters add what `ws` still holds). */
function unsentBytes (stream: Duplex): number {
  return stream.writableLength + ((stream as { bufferedAmount?: number }).bufferedAmount ?? 0)
}

/**
 * aedes waits for 'drain' whenever a connection's write() returns false, and
 * while it waits its message bus holds deliveries for *every* client: one
 * frozen subscriber stalled the whole broker. This makes write() always
 * return true, so aedes never waits; OutboundGate bounds what may pile up.
 */
export function neverWaitForDrain (stream: Duplex): void {
  const write = stream.write
  // Fixed arity, no rest array: this runs for every chunk written to every client.
  stream.write = function writeWithoutBackpressure (this: Duplex, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    write.call(this, chunk, encoding as BufferEncoding, callback as (error?: Error | null) => void)
    return true
  } as Duplex['write']
}

export type Admission = 'send' | 'drop' | 'disconnect'

/**
 * Decides, once per delivery and before anything is written, whether a
 * message may join what is waiting to be sent to one client:
 * - QoS 0 while more than maxBufferedBytes are unsent: dropped (counted);
 * - QoS 1/2 while more than maxQueuedBytes are unsent, or after
 *   maxQueuedMessages QoS 1/2 messages were written without the buffer ever
 *   emptying: the client is disconnected. A persistent session keeps the
 *   unacknowledged messages in persistence, as for any offline client.
 */
export class OutboundGate {
  #queuedQos = 0
  dropped = 0

  constructor (private readonly rules: OutboundRules) {}

  admit (stream: Duplex, qos: number): Admission {
    const unsent = unsentBytes(stream)
    if (unsent === 0) this.#queuedQos = 0
    if (qos === 0) {
      if (unsent <= this.rules.maxBufferedBytes) return 'send'
      this.dropped++
      return 'drop'
    }
    if (unsent > this.rules.maxQueuedBytes || this.#queuedQos >= this.rules.maxQueuedMessages) return 'disconnect'
    this.#queuedQos++
    return 'send'
  }

  /** Why the client is being disconnected, for the log. */
  overflowReason (stream: Duplex): string {
    return `client is not reading: ${this.#queuedQos} QoS 1/2 messages and ${unsentBytes(stream)} bytes waiting to be sent ` +
      `(limits.outgoing: maxQueuedMessages ${this.rules.maxQueuedMessages}, maxQueuedBytes ${this.rules.maxQueuedBytes})`
  }
}
