import { topicFilterBytesProblem, topicNameBytesProblem, utf8Problem } from './mqtt-strings.js'
import type { TokenBucket } from './token-bucket.js'

/** MQTT control packet types (the high nibble of the fixed header). */
const CONNECT = 1
const PUBLISH = 3
const PUBACK = 4
const PUBCOMP = 7
const ACK_NAMES = ['PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP']
const SUBSCRIBE = 8
const UNSUBSCRIBE = 10

export interface InboundRules {
  /** Largest packet allowed, fixed header included. */
  maxPacketSize: number
  maxTopicLevels: number
  /** PUBLISH packets a second, when limited. */
  messageRate?: TokenBucket
  /** Inbound bytes a second, when limited. */
  byteRate?: TokenBucket
  /** Over a rate: 'throttle' delays reading this connection; 'disconnect' closes it. */
  onRateExceeded: 'throttle' | 'disconnect'
}

/**
 * Checks one connection's inbound bytes at the edge, before aedes' parser
 * buffers or decodes them:
 * - framing: a packet declaring more than maxPacketSize is refused from its
 *   fixed header, before its body is read into memory;
 * - strings on the wire: PUBLISH topics, SUBSCRIBE/UNSUBSCRIBE filters and
 *   CONNECT identifiers must be well-formed UTF-8 without NUL, topics without
 *   wildcards, filters with wildcards only where §4.7 allows them;
 * - rates: PUBLISH messages and bytes per second (token buckets).
 *
 * Bodies are skipped by counting; only the few bytes that need checking are
 * looked at (copied only when a packet's header spans two reads).
 */
export class InboundGuard {
  #inBody = false
  #lengthBytes = -1 // -1: expecting a fixed-header byte; >= 0: length bytes read
  #length = 0
  #multiplier = 1
  #header = 0
  #bodyLeft = 0 // body bytes of the current packet not yet seen
  #need = 0 // body bytes to look at, from the start of the body
  #seen = 0 // of the #need bytes, how many have been looked at
  #capture: Buffer | undefined // the first #need body bytes, when they span reads
  #headerAt = -1 // offset of the current packet's fixed header in the buffer being inspected (-1: an earlier read)
  #cut: number | undefined

  constructor (private readonly rules: InboundRules) {}

  /**
   * Over the message rate in throttle mode, where the bytes to hand on now
   * end: the offset of the first PUBLISH over budget. The caller passes on
   * only the bytes before it and inspects the rest again after
   * `throttleMs()`. Read once per inspect: reading clears it.
   */
  takeCut (): number | undefined {
    const cut = this.#cut
    this.#cut = undefined
    return cut
  }

  /** Returns why the connection must be closed, or undefined when the bytes are acceptable. */
  inspect (buf: Buffer): string | undefined {
    this.#headerAt = -1
    if (this.rules.byteRate && !this.rules.byteRate.take(buf.length) && this.rules.onRateExceeded === 'disconnect') {
      return 'inbound byte rate exceeded'
    }
    let i = 0
    const n = buf.length
    while (i < n) {
      if (this.#inBody) {
        const take = Math.min(this.#bodyLeft, n - i)
        if (this.#need > this.#seen) {
          const problem = this.#look(buf, i, take)
          if (problem) return problem
        }
        this.#bodyLeft -= take
        i += take
        if (this.#bodyLeft === 0) this.#inBody = false
        continue
      }
      const byte = buf[i++]!
      if (this.#lengthBytes < 0) {
        this.#header = byte
        this.#headerAt = i - 1
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
      if (total > this.rules.maxPacketSize) {
        return `packet of ${total} bytes exceeds the maximum packet size of ${this.rules.maxPacketSize} bytes`
      }
      this.#lengthBytes = -1
      if (this.#overBudget()) {
        // Hand on what came before this packet; this packet and the rest are inspected again later.
        this.#cut = this.#headerAt
        return undefined
      }
      const problem = this.#startBody()
      if (problem) return problem
    }
    return undefined
  }

  /** A PUBLISH starting here (at a known offset) would exceed the message rate, in throttle mode. */
  #overBudget (): boolean {
    const bucket = this.rules.messageRate
    if (!bucket || this.rules.onRateExceeded !== 'throttle' || this.#header >> 4 !== PUBLISH || this.#headerAt < 0) return false
    if (bucket.take(1)) return false
    bucket.take(-1) // not counted now: it is counted when it is inspected again
    return true
  }

  /** How long to hold off reading because the connection is over its rate (0: read now). */
  throttleMs (): number {
    if (this.rules.onRateExceeded !== 'throttle') return 0
    return Math.max(this.rules.messageRate?.waitMs() ?? 0, this.rules.byteRate?.waitMs() ?? 0)
  }

  #startBody (): string | undefined {
    const type = this.#header >> 4
    this.#bodyLeft = this.#length
    this.#seen = 0
    this.#capture = undefined
    this.#need = 0
    if (type >= PUBACK && type <= PUBCOMP && this.#length !== 2) {
      // These carry exactly a packet identifier (MQTT-3.4.2 … 3.7.2); the parser would otherwise read it from the next packet.
      return `${ACK_NAMES[type - PUBACK]} with a remaining length of ${this.#length} (must be 2)`
    }
    if (type === PUBLISH) {
      if (((this.#header >> 1) & 0x03) === 3) return 'PUBLISH with QoS 3' // MQTT-3.3.1-4
      // In throttle mode the packet was already counted by #overBudget (unless its header came in an earlier read).
      const counted = this.rules.onRateExceeded === 'throttle' && this.#headerAt >= 0
      if (this.rules.messageRate && !counted && !this.rules.messageRate.take(1) && this.rules.onRateExceeded === 'disconnect') {
        return 'inbound message rate exceeded'
      }
      this.#need = Math.min(2, this.#length) // the topic length, then the topic
      if (this.#length < 2) return 'PUBLISH too short to hold a topic'
    } else if (type === SUBSCRIBE || type === UNSUBSCRIBE || type === CONNECT) {
      this.#need = this.#length // small packets: look at all of it
    }
    this.#inBody = this.#length > 0
    if (!this.#inBody && this.#need > 0) return this.#check(Buffer.alloc(0))
    return undefined
  }

  /** Looks at body bytes buf[at, at+take), checking the packet once the bytes it needs are in. */
  #look (buf: Buffer, at: number, take: number): string | undefined {
    // Fast paths: everything needed is in this read, so check a view of it, no copy.
    if (this.#seen === 0) {
      if (this.#header >> 4 === PUBLISH && take >= 2) {
        const need = 2 + buf.readUInt16BE(at)
        if (need > this.#length) return 'PUBLISH topic length runs past the end of the packet'
        if (take >= need) {
          this.#seen = this.#need = need
          return this.#check(buf.subarray(at, at + need))
        }
      } else if (this.#header >> 4 !== PUBLISH && take >= this.#need) {
        this.#seen = this.#need
        return this.#check(buf.subarray(at, at + this.#need))
      }
    }
    return this.#gather(buf, at, take)
  }

  /** Slow path: the bytes to check span reads, so copy them together. */
  #gather (buf: Buffer, at: number, take: number): string | undefined {
    let pos = at
    const end = at + take
    while (this.#seen < this.#need && pos < end) {
      if (!this.#capture || this.#capture.length < this.#need) {
        const grown = Buffer.allocUnsafe(this.#need)
        this.#capture?.copy(grown, 0, 0, this.#seen)
        this.#capture = grown
      }
      const n = Math.min(this.#need - this.#seen, end - pos)
      buf.copy(this.#capture, this.#seen, pos, pos + n)
      this.#seen += n
      pos += n
      if (this.#seen < this.#need) break
      if (this.#header >> 4 === PUBLISH && this.#need === 2) {
        // Now the topic length is known: gather the topic itself.
        const topicLength = this.#capture.readUInt16BE(0)
        if (topicLength + 2 > this.#length) return 'PUBLISH topic length runs past the end of the packet'
        this.#need = 2 + topicLength
        if (topicLength > 0) continue
      }
      return this.#check(this.#capture.subarray(0, this.#need))
    }
    return undefined
  }

  #check (body: Buffer): string | undefined {
    const type = this.#header >> 4
    if (type === PUBLISH) {
      // QoS 1/2 need a packet identifier after the topic; without one aedes would acknowledge "undefined".
      if (((this.#header >> 1) & 0x03) > 0 && body.length + 2 > this.#length) return 'PUBLISH at QoS 1/2 without a packet identifier'
      return topicNameBytesProblem(body.subarray(2), this.rules.maxTopicLevels)
    }
    if (type === SUBSCRIBE || type === UNSUBSCRIBE) return this.#checkFilters(type, body)
    if (type === CONNECT) return checkConnect(body, this.rules.maxTopicLevels)
    return undefined
  }

  #checkFilters (type: number, body: Buffer): string | undefined {
    const name = type === SUBSCRIBE ? 'SUBSCRIBE' : 'UNSUBSCRIBE'
    if ((this.#header & 0x0f) !== 0x02) return `${name} has reserved flag bits set wrong` // MQTT-3.8.1-1, 3.10.1-1
    let at = 2 // after the packet identifier
    let count = 0
    while (at < body.length) {
      if (at + 2 > body.length) return `${name} is truncated`
      const len = body.readUInt16BE(at)
      at += 2
      if (at + len > body.length) return `${name} topic filter runs past the end of the packet`
      const problem = topicFilterBytesProblem(body.subarray(at, at + len), this.rules.maxTopicLevels)
      if (problem) return problem
      at += len
      if (type === SUBSCRIBE) {
        if (at >= body.length) return 'SUBSCRIBE is missing a requested QoS'
        if ((body[at]! & 0xfc) !== 0 || (body[at]! & 0x03) === 3) return 'SUBSCRIBE requested QoS is not 0, 1 or 2' // MQTT-3.8.3-4
        at += 1
      }
      count++
    }
    if (count === 0) return `${name} has no topic filter` // MQTT-3.8.3-3, MQTT-3.10.3-2
    return undefined
  }
}

/** Checks the strings of a CONNECT (client id, will topic, username); structure errors are left to the parser. */
function checkConnect (body: Buffer, maxTopicLevels: number): string | undefined {
  let at = 0
  const field = (): Buffer | undefined => {
    if (at + 2 > body.length) return undefined
    const len = body.readUInt16BE(at)
    if (at + 2 + len > body.length) return undefined
    const bytes = body.subarray(at + 2, at + 2 + len)
    at += 2 + len
    return bytes
  }
  if (!field()) return undefined // protocol name
  if (at + 4 > body.length) return undefined
  const flags = body[at + 1]!
  at += 4 // level, flags, keepalive
  const clientId = field()
  if (!clientId) return undefined
  const idProblem = utf8Problem(clientId)
  if (idProblem) return `client identifier ${idProblem}`
  if (flags & 0x04) {
    const willTopic = field()
    if (!willTopic) return undefined
    const willProblem = topicNameBytesProblem(willTopic, maxTopicLevels)
    if (willProblem) return `will ${willProblem}`
    if (!field()) return undefined // will payload
  }
  if (flags & 0x80) {
    const username = field()
    if (username) {
      const userProblem = utf8Problem(username)
      if (userProblem) return `username ${userProblem}`
    }
  }
  return undefined
}
