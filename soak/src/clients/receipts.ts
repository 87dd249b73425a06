import { topicMatches } from '@embedmq/core'
import { BitSet } from '../stats.js'
import type { DeliveryByQos, StreamFinal } from '../protocol.js'

/**
 * Which (topic, seq) one subscriber has received, so the end-of-run
 * accounting can say exactly which acknowledged publishes never arrived and
 * which arrived twice. One per subscribing identity (a persistent session
 * keeps its Receipts across reconnects).
 */
export class Receipts {
  readonly #streams = new Map<string, { seen: BitSet, dups: number }>()

  constructor (readonly clientId: string, readonly filter: string, readonly qos: 0 | 1 | 2, readonly kind: 'always-on' | 'persistent') {}

  /** Records a delivery; returns false for a duplicate. */
  record (topic: string, seq: number): boolean {
    let s = this.#streams.get(topic)
    if (!s) {
      s = { seen: new BitSet(), dups: 0 }
      this.#streams.set(topic, s)
    }
    if (s.seen.set(seq)) {
      s.dups++
      return false
    }
    return true
  }

  /**
   * Adds this subscriber's expected/received/missing/duplicates to `into`,
   * by delivered QoS. Expected = every publish on a matching stream that the
   * broker acknowledged (QoS 1/2) or that was written (QoS 0); the subscriber
   * was subscribed before publishing began. `skipQos0` leaves out QoS 0,
   * which a broker may drop while a session is offline. QoS 1/2 losses are
   * also counted by (publish QoS, subscription QoS) in `lostByLink`, which
   * tells apart e.g. a downgrade bug from a QoS 2 handshake bug.
   */
  account (streams: readonly StreamFinal[], into: DeliveryByQos, examples: string[], lostByLink: Record<string, number>, skipQos0 = false): void {
    for (const stream of streams) {
      if (!topicMatches(this.filter, stream.topic)) continue
      const q = Math.min(stream.qos, this.qos) as 0 | 1 | 2
      if (q === 0 && skipQos0) continue
      const unacked = new Set(stream.unacked)
      const got = this.#streams.get(stream.topic)
      const count = into[q]
      for (let seq = 0; seq < stream.sent; seq++) {
        if (unacked.has(seq)) continue
        count.expected++
        if (got?.seen.has(seq) === true) {
          count.received++
        } else {
          count.missing++
          if (q > 0) {
            const link = `${this.kind} publish QoS ${stream.qos} → subscription QoS ${this.qos}`
            lostByLink[link] = (lostByLink[link] ?? 0) + 1
            if (examples.length < 10) examples.push(`${stream.topic}#${seq} -> ${this.clientId}`)
          }
        }
      }
      count.duplicates += got?.dups ?? 0
    }
  }
}
