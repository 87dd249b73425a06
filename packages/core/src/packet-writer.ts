/**
 * How aedes' packets reach an embedmq connection. aedes writes every packet
 * through mqtt-packet's `writeToStream`; this wraps that one function of the
 * mqtt-packet module aedes itself loads, and acts only on streams marked with
 * `adoptConnection` — other users of mqtt-packet in the process (mqtt.js
 * clients) pass straight through. On marked streams:
 * - a QoS 1 PUBACK waits until its message is stored and routed (durable-acks.ts);
 * - a PUBLISH is encoded into one buffer and written once. writeToStream
 *   writes a packet in five or six pieces; embedmq never makes aedes wait for
 *   a socket to drain (edge/outbound-limiter.ts), so under load those pieces
 *   wait in the socket's write queue long enough to survive young-generation
 *   garbage collections, and collecting them cost 15 % of the CPU per
 *   delivery in a fan-out measurement. One buffer per packet is one queue
 *   entry; the copy of the payload costs less.
 * - PUBLISH packets written in one event-loop turn go out together: the
 *   first at once, the rest corked until the end of the turn (or until 64 KiB
 *   wait). aedes delivers each message from its own setImmediate
 *   and mqtt-packet uncorks on nextTick, which made one syscall per delivery;
 *   now a turn's deliveries to a client share one. Measured with the bench
 *   (TCP, same run): fan-in 1.1-1.2x, fan-out 1.8-2.0x, QoS 1 1.2-1.4x of bare
 *   aedes, from 0.86x, 1.05x and 0.97x.
 */
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import type { PendingPubacks } from './durable-acks.js'

type Packet = { cmd: string, messageId?: number }
type Write = (packet: Packet, stream: Duplex, opts?: unknown) => boolean
type Generate = (packet: Packet, opts?: unknown) => Buffer

const PUBACKS = Symbol('embedmq.pendingPubacks')
type Marked = Duplex & { [PUBACKS]?: PendingPubacks }

let installed = false

function installWriteHook (): void {
  if (installed) return
  installed = true
  // The mqtt-packet that aedes resolves, not necessarily the one nearest to us.
  const aedesRequire = createRequire(createRequire(import.meta.url).resolve('aedes'))
  const mqttPacket = aedesRequire('mqtt-packet') as { writeToStream: Write, generate: Generate }
  const original = mqttPacket.writeToStream
  const generate = mqttPacket.generate
  mqttPacket.writeToStream = function writeToStream (packet, stream, opts) {
    const pubacks = (stream as Marked)[PUBACKS]
    if (pubacks === undefined) return original(packet, stream, opts)
    if (packet.cmd === 'publish') {
      let encoded: Buffer
      try {
        encoded = generate(packet, opts)
      } catch (err) {
        // What writeToStream does with a packet it cannot encode: end that connection.
        stream.destroy(err as Error)
        return false
      }
      writeBatched(stream, encoded)
      return true
    }
    if (packet.cmd === 'puback' && pubacks.hold(packet.messageId, stream)) return true
    return original(packet, stream, opts)
  }
}

const TURN = Symbol('embedmq.writesThisTurn')
/** A corked stream holding this much is flushed at once: one good-sized syscall, and a slow client's bound is checked on what really waits. */
const FLUSH_BYTES = 64 * 1024

type TurnState = undefined | 'wrote' | 'corked'
type Batched = Duplex & { [TURN]?: TurnState }

/**
 * Writes a packet, batching a turn's writes to one stream: the first goes
 * out at once (a lone message waits for nothing), later ones in the same
 * event-loop turn are corked and leave together at its end (or at 64 KiB).
 */
function writeBatched (stream: Duplex, encoded: Buffer): void {
  const s = stream as Batched
  const state = s[TURN]
  if (state === undefined) {
    s[TURN] = 'wrote'
    setImmediate(endTurn, s)
  } else if (state === 'wrote') {
    s[TURN] = 'corked'
    stream.cork()
  }
  stream.write(encoded)
  if (s[TURN] === 'corked' && stream.writableLength >= FLUSH_BYTES) {
    s[TURN] = 'wrote'
    stream.uncork()
  }
}

function endTurn (s: Batched): void {
  if (s[TURN] === 'corked') s.uncork()
  s[TURN] = undefined
}

/** Marks an embedmq connection's stream: its QoS 1 PUBACKs wait for routing, its PUBLISH packets go out in one piece. */
export function adoptConnection (stream: Duplex, pubacks: PendingPubacks): void {
  installWriteHook()
  ;(stream as Marked)[PUBACKS] = pubacks
}
