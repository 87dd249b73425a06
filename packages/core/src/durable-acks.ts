/**
 * Nothing is acknowledged that was not stored.
 *
 * aedes 1.2 writes a QoS 1 PUBACK *before* it routes the message (stores it
 * for offline persistent sessions and as retained): a broker killed in that
 * window had acknowledged a message it then lost. Here each QoS 1 PUBACK of
 * an embedmq connection is held back until aedes reports the message routed
 * (its `published` hook, which runs after retained storage and offline
 * queues), then written. (QoS 2 is already safe: aedes stores the packet and
 * routes it before its PUBREC.) packet-writer.ts catches aedes' PUBACK writes
 * and hands them here.
 */
import type { Duplex } from 'node:stream'

/**
 * The QoS 1 packet ids of one connection whose PUBACK waits for routing.
 *
 * Released PUBACKs are written together once per event-loop turn, as one
 * buffer: written one by one from wherever each message's routing finished,
 * every PUBACK cost a syscall of its own (aedes' own PUBACKs, written while
 * it reads a batch, share one), which took a third of QoS 1 throughput.
 */
export class PendingPubacks {
  /** id → whether aedes already tried to write its PUBACK (and it is held). */
  #pending: Map<number, boolean> | undefined
  /** Released ids, to be written at the end of this turn. */
  #ready: number[] = []
  #stream: Duplex | undefined
  #flushing = false

  /** A QoS 1 PUBLISH arrived: its PUBACK must wait for routing. */
  expect (messageId: number | undefined): void {
    if (messageId !== undefined) (this.#pending ??= new Map()).set(messageId, false)
  }

  /** aedes wants to write a PUBACK: returns true when it is held back (to be written by `routed`). */
  hold (messageId: number | undefined, stream: Duplex): boolean {
    if (messageId === undefined || !this.#pending?.has(messageId)) return false
    this.#pending.set(messageId, true)
    this.#stream = stream
    return true
  }

  /** The message was stored and routed: its PUBACK may go (now, if aedes already asked for it). */
  routed (messageId: number | undefined): void {
    if (messageId === undefined || !this.#pending) return
    const held = this.#pending.get(messageId)
    this.#pending.delete(messageId)
    if (held !== true) return // not asked yet: aedes' own write will pass straight through
    this.#ready.push(messageId)
    if (!this.#flushing) {
      this.#flushing = true
      // setImmediate, not nextTick: routing finishes over several ticks of a read, and one write should carry them all (measured: nextTick lost a third of QoS 1 throughput).
      setImmediate(() => this.#flush())
    }
  }

  #flush (): void {
    this.#flushing = false
    const ids = this.#ready
    this.#ready = []
    const stream = this.#stream
    if (!stream || stream.destroyed || ids.length === 0) return
    // MQTT 3.1.1 PUBACK: 0x40, remaining length 2, the packet id.
    const out = Buffer.allocUnsafe(4 * ids.length)
    ids.forEach((id, i) => {
      out[4 * i] = 0x40
      out[4 * i + 1] = 2
      out.writeUInt16BE(id, 4 * i + 2)
    })
    try {
      stream.write(out)
    } catch (err) {
      // Runs outside aedes' own try/catch: a write that throws ends this connection, not the process.
      stream.destroy(new Error(`cannot acknowledge packets ${ids.join(', ')}: ${(err as Error).message}`))
    }
  }
}
