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
      stream.write(encoded)
      return true
    }
    if (packet.cmd === 'puback' && pubacks.hold(packet.messageId, stream)) return true
    return original(packet, stream, opts)
  }
}

/** Marks an embedmq connection's stream: its QoS 1 PUBACKs wait for routing, its PUBLISH packets go out in one piece. */
export function adoptConnection (stream: Duplex, pubacks: PendingPubacks): void {
  installWriteHook()
  ;(stream as Marked)[PUBACKS] = pubacks
}
