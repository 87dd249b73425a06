import type { Duplex } from 'node:stream'

const PUBLISH = 3

export interface OutboundRules {
  /** Above this many unsent bytes, QoS 0 messages to this client are dropped. */
  maxBufferedBytes: number
  /** Above this many unsent bytes, or maxQueuedMessages unsent QoS 1/2 messages, the client is disconnected. */
  maxQueuedBytes: number
  maxQueuedMessages: number
}

export interface OutboundEvents {
  /** A QoS 0 message was dropped for this slow client (count so far). */
  dropped (total: number): void
  /** The client is so far behind on QoS 1/2 that it is being disconnected. */
  overflow (reason: string): void
}

/** Bytes written to a stream but not yet handed to the OS (WebSocket adapters add what `ws` still holds). */
function unsentBytes (stream: Duplex): number {
  return stream.writableLength + ((stream as { bufferedAmount?: number }).bufferedAmount ?? 0)
}

type WriteCallback = (error?: Error | null) => void

/** Why a slow client was disconnected (logged once by the limiter's owner, not again as a connection error). */
export class SlowConsumerError extends Error {
  override name = 'SlowConsumerError'
}

/**
 * Bounds what one connection may have waiting to be sent, so a client that
 * stops reading never holds up routing for anyone else.
 *
 * aedes waits for 'drain' whenever a socket's write() returns false, and
 * while it waits, its message bus queues deliveries for *every* client; with
 * a frozen subscriber that stalls the whole broker, and releasing a large
 * backlog recursed until the stack overflowed. Here the connection's write()
 * always returns true, so aedes never waits, and the bound is enforced per
 * packet instead:
 * - QoS 0 PUBLISH while more than maxBufferedBytes are unsent: dropped (counted);
 * - QoS 1/2 PUBLISH while more than maxQueuedBytes or maxQueuedMessages are
 *   unsent: the connection is closed. A persistent session keeps the
 *   unacknowledged messages in persistence, as for any offline client.
 * Other packets (acks, SUBACK, PINGRESP) always go out.
 *
 * Packets are found by framing the written bytes (mqtt-packet writes each
 * packet in several pieces, synchronously), so the decision for a packet is
 * taken at its first byte and applies to all of its pieces.
 */
export function limitOutbound (stream: Duplex, rules: OutboundRules, events: OutboundEvents): void {
  const write = stream.write.bind(stream) as (chunk: Buffer | string, cb?: WriteCallback) => boolean
  let lengthBytes = -1 // -1: next byte is a fixed header; >=0: remaining-length bytes read
  let length = 0
  let multiplier = 1
  let bodyLeft = 0
  let dropping = false
  let queuedQos = 0 // QoS 1/2 PUBLISH packets written and not yet flushed
  let countingQos = false
  let dropped = 0
  let closed = false

  const onQosFlushed: WriteCallback = () => { queuedQos-- }

  /** Called at each packet's first byte: decides whether it is sent, dropped, or ends the connection. */
  const admit = (header: number): void => {
    dropping = false
    countingQos = false
    if (header >> 4 !== PUBLISH) return
    const unsent = unsentBytes(stream)
    if ((header & 0x06) === 0) {
      if (unsent > rules.maxBufferedBytes) {
        dropping = true
        events.dropped(++dropped)
      }
      return
    }
    if (unsent > rules.maxQueuedBytes || queuedQos >= rules.maxQueuedMessages) {
      dropping = true
      if (!closed) {
        closed = true
        const reason = `client is not reading: ${queuedQos} QoS 1/2 messages and ${unsent} bytes waiting to be sent (limits.outgoing: maxQueuedMessages ${rules.maxQueuedMessages}, maxQueuedBytes ${rules.maxQueuedBytes})`
        events.overflow(reason)
        setImmediate(() => stream.destroy(new SlowConsumerError(reason)))
      }
      return
    }
    countingQos = true
    queuedQos++
  }

  stream.write = function limitedWrite (chunk: Buffer | string | Uint8Array, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    const callback = typeof encoding === 'function' ? encoding : cb
    // Strings (topics) are only ever body bytes, so their length is all the framing needs.
    const bytes = typeof chunk === 'string' ? undefined : chunk
    const size = bytes ? bytes.length : Buffer.byteLength(chunk as string)
    let completesQos = false
    let i = 0
    while (i < size) {
      if (bodyLeft > 0) {
        const skip = Math.min(bodyLeft, size - i)
        bodyLeft -= skip
        i += skip
        if (bodyLeft === 0 && countingQos) completesQos = true
        continue
      }
      const byte = bytes ? bytes[i]! : Buffer.from(chunk as string)[i]!
      i++
      if (lengthBytes < 0) {
        admit(byte)
        lengthBytes = 0
        length = 0
        multiplier = 1
        continue
      }
      length += (byte & 0x7f) * multiplier
      multiplier *= 128
      lengthBytes++
      if ((byte & 0x80) === 0) {
        lengthBytes = -1
        bodyLeft = length
        if (bodyLeft === 0 && countingQos) completesQos = true
      }
    }
    // mqtt-packet writes each packet in pieces and never mixes two packets in one write,
    // so the whole write shares the fate of the packet it belongs to.
    if (dropping) {
      if (callback) process.nextTick(callback)
      return true
    }
    write(chunk as Buffer, completesQos ? (err) => { onQosFlushed(); callback?.(err) } : callback)
    return true
  } as typeof stream.write
}
