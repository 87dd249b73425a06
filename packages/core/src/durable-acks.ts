/**
 * Nothing is acknowledged that was not stored.
 *
 * aedes 1.2 writes a QoS 1 PUBACK *before* it routes the message (stores it
 * for offline persistent sessions and as retained): a broker killed in that
 * window had acknowledged a message it then lost. Here each QoS 1 PUBACK of
 * an embedmq connection is held back until aedes reports the message routed
 * (its `published` hook, which runs after retained storage and offline
 * queues), then written. (QoS 2 is already safe: aedes stores the packet and
 * routes it before its PUBREC.)
 *
 * aedes writes packets through mqtt-packet's `writeToStream`; this wraps that
 * one function of the mqtt-packet module aedes itself loads, and acts only on
 * streams marked by `deferPubacks` — other users of mqtt-packet in the
 * process (mqtt.js clients) pass straight through.
 */
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'

type Write = (packet: { cmd: string, messageId?: number }, stream: Duplex, opts?: unknown) => boolean
const HOLDER = Symbol('embedmq.pendingPubacks')

/** The QoS 1 packet ids of one connection whose PUBACK waits for routing. */
export class PendingPubacks {
  /** id → the held PUBACK write (undefined until aedes tries to write it). */
  #pending: Map<number, (() => void) | undefined> | undefined

  /** A QoS 1 PUBLISH arrived: its PUBACK must wait for routing. */
  expect (messageId: number | undefined): void {
    if (messageId !== undefined) (this.#pending ??= new Map()).set(messageId, undefined)
  }

  /** aedes wants to write a PUBACK: returns true when it was held back. */
  hold (messageId: number | undefined, write: () => void): boolean {
    if (messageId === undefined || !this.#pending?.has(messageId)) return false
    this.#pending.set(messageId, write)
    return true
  }

  /** The message was stored and routed: write its PUBACK if it was held. */
  routed (messageId: number | undefined): void {
    if (messageId === undefined || !this.#pending) return
    const write = this.#pending.get(messageId)
    this.#pending.delete(messageId)
    write?.()
  }
}

/**
 * Writes a held PUBACK. It runs from aedes' `published` hook, outside the
 * try/catch aedes puts around its own writes, so a packet mqtt-packet cannot
 * encode (the fuzzer found one) must end that connection, not the process.
 */
function writeHeld (original: Write, packet: Parameters<Write>[0], stream: Duplex, opts: unknown): void {
  if (stream.destroyed) return
  try {
    original(packet, stream, opts)
  } catch (err) {
    stream.destroy(new Error(`cannot acknowledge packet ${String(packet.messageId)}: ${(err as Error).message}`))
  }
}

let installed = false

function installWriteHook (): void {
  if (installed) return
  installed = true
  // The mqtt-packet that aedes resolves, not necessarily the one nearest to us.
  const aedesRequire = createRequire(createRequire(import.meta.url).resolve('aedes'))
  const mqttPacket = aedesRequire('mqtt-packet') as { writeToStream: Write }
  const original = mqttPacket.writeToStream
  mqttPacket.writeToStream = function writeToStream (packet, stream, opts) {
    if (packet.cmd === 'puback') {
      const holder = (stream as Duplex & { [HOLDER]?: PendingPubacks })[HOLDER]
      if (holder?.hold(packet.messageId, () => writeHeld(original, packet, stream, opts))) return true
    }
    return original(packet, stream, opts)
  }
}

/** Marks a connection's stream so its QoS 1 PUBACKs wait for routing (see above). */
export function deferPubacks (stream: Duplex, pending: PendingPubacks): void {
  installWriteHook()
  ;(stream as Duplex & { [HOLDER]?: PendingPubacks })[HOLDER] = pending
}
