import assert from 'node:assert/strict'
import mqttPacket from 'mqtt-packet'
import { InboundGuard } from '../src/edge/inbound-guard.js'
import { TokenBucket } from '../src/edge/token-bucket.js'
import { topicFilterProblem, topicMatches, topicNameProblem } from '../src/index.js'

const guard = (maxPacketSize = 1024 * 1024, extra: Partial<ConstructorParameters<typeof InboundGuard>[0]> = {}): InboundGuard =>
  new InboundGuard({ maxPacketSize, maxTopicLevels: 8, onRateExceeded: 'disconnect', ...extra })

const publish = (payloadBytes: number, topic = 'a/b', qos: 0 | 1 | 2 = 0): Buffer => mqttPacket.generate({
  cmd: 'publish', topic, payload: Buffer.alloc(payloadBytes), qos, retain: false, dup: false, ...(qos > 0 ? { messageId: 7 } : {})
})

/** A PUBLISH whose topic bytes are given raw (mqtt-packet would encode a string as valid UTF-8). */
function rawPublish (topic: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from('payload')])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

/** Feeds `bytes` to a fresh guard split at every position; returns each verdict. */
function everySplit (bytes: Buffer, make = () => guard()): Array<string | undefined> {
  const verdicts: Array<string | undefined> = []
  for (let split = 0; split <= bytes.length; split++) {
    const g = make()
    verdicts.push(g.inspect(bytes.subarray(0, split)) ?? g.inspect(bytes.subarray(split)))
  }
  return verdicts
}

describe('InboundGuard', () => {
  it('accepts packets up to the limit, however the bytes are split', () => {
    const packets = Buffer.concat([publish(10), publish(90, 'x/y/z', 1), publish(0, 'é/ü', 2)])
    assert.deepEqual(new Set(everySplit(packets, () => guard(publish(90, 'x/y/z', 1).length))), new Set([undefined]))
  })

  it('refuses a packet over the limit from its header alone', () => {
    const header = publish(100 * 1024 * 1024).subarray(0, 5)
    assert.match(guard(1024).inspect(header) ?? '', /packet of 104857\d+ bytes exceeds the maximum packet size of 1024 bytes/)
  })

  it('refuses a remaining length longer than four bytes', () => {
    assert.match(guard().inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])) ?? '', /malformed remaining length/)
  })

  it('refuses PUBLISH topics that break MQTT-1.5.3 or MQTT-4.7, wherever the read splits them', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [rawPublish(Buffer.from([0x61, 0xff, 0x62])), /not well-formed UTF-8/],
      [rawPublish(Buffer.from([0x61, 0xed, 0xa0, 0x80])), /not well-formed UTF-8/], // a UTF-16 surrogate
      [rawPublish(Buffer.from('a\u0000b')), /NUL/],
      [rawPublish(Buffer.from('a/+/b')), /wildcard/],
      [rawPublish(Buffer.from('a/#')), /wildcard/],
      [rawPublish(Buffer.alloc(0)), /empty/],
      [rawPublish(Buffer.from('1/2/3/4/5/6/7/8/9')), /more than 8 levels/]
    ]
    for (const [bytes, reason] of cases) {
      for (const verdict of everySplit(bytes)) assert.match(verdict ?? 'accepted', reason)
    }
  })

  it('refuses a QoS 1 PUBLISH without a packet identifier, and QoS 3', () => {
    // Found by the fuzzer: 0x3a = PUBLISH, DUP, QoS 1; the body holds only the topic.
    const noId = Buffer.from('3a11000f656d6f6a692ff09f98802ff09d849e', 'hex')
    for (const verdict of everySplit(noId)) assert.match(verdict ?? 'accepted', /QoS 1\/2 without a packet identifier/)
    assert.match(guard().inspect(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])) ?? '', /QoS 3/)
  })

  it('refuses PUBACK, PUBREC, PUBREL and PUBCOMP whose remaining length is not 2 (found by the fuzzer)', () => {
    assert.match(guard().inspect(Buffer.from([0x62, 0x00])) ?? '', /PUBREL with a remaining length of 0 \(must be 2\)/)
    assert.match(guard().inspect(Buffer.from([0x40, 0x01, 0x00])) ?? '', /PUBACK with a remaining length of 1/)
    assert.equal(guard().inspect(Buffer.from([0x40, 0x02, 0x00, 0x07, 0x70, 0x02, 0x00, 0x07])), undefined)
  })

  it('refuses a topic length that runs past the packet', () => {
    assert.match(guard().inspect(Buffer.from([0x30, 0x04, 0x00, 0x10, 0x61, 0x62])) ?? '', /runs past the end/)
  })

  it('checks SUBSCRIBE and UNSUBSCRIBE filters and flags', () => {
    const sub = (filters: string[]): Buffer => mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map(topic => ({ topic, qos: 1 as const })) })
    assert.deepEqual(new Set(everySplit(sub(['a/+/c', '#', 'x/y/#']))), new Set([undefined]))
    assert.match(guard().inspect(sub(['a/#/c'])) ?? '', /'#' that is not a whole, last level/)
    assert.match(guard().inspect(sub(['a/b+'])) ?? '', /'\+' that is not a whole level/)
    assert.match(guard().inspect(Buffer.from([0x82, 0x02, 0x00, 0x01])) ?? '', /no topic filter/)
    assert.match(guard().inspect(Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00])) ?? '', /reserved flag bits/)
    assert.match(guard().inspect(Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03])) ?? '', /requested QoS/)
    const unsub = mqttPacket.generate({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/+', 'b/#'] })
    assert.equal(guard().inspect(unsub), undefined)
  })

  it('checks CONNECT client id, will topic and username', () => {
    const connect = (over: Record<string, unknown>): Buffer => mqttPacket.generate({
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'press-1', ...over
    } as mqttPacket.IConnectPacket)
    assert.equal(guard().inspect(connect({ username: 'anna', password: Buffer.from('pw'), will: { topic: 'm/press-1/state', payload: Buffer.from('offline'), qos: 1, retain: true } })), undefined)
    assert.match(guard().inspect(connect({ will: { topic: 'm/+/state', payload: Buffer.from('x'), qos: 0, retain: false } })) ?? '', /will topic name contains a wildcard/)
    const badUser = connect({ username: 'ab' })
    badUser[badUser.length - 1] = 0xff // the last byte of the username
    assert.match(guard().inspect(badUser) ?? '', /username is not well-formed UTF-8/)
  })

  it('disconnects over the message rate when configured to', () => {
    const g = guard(1024 * 1024, { messageRate: new TokenBucket(10, 10) })
    const ten = Buffer.concat(Array.from({ length: 10 }, () => publish(1)))
    assert.equal(g.inspect(ten), undefined)
    assert.match(g.inspect(publish(1)) ?? '', /message rate exceeded/)
  })

  it('over the rate when throttling, hands on only the packets within budget and asks to hold off', () => {
    const g = guard(1024 * 1024, { messageRate: new TokenBucket(100, 10), onRateExceeded: 'throttle' })
    const one = publish(1)
    const thirty = Buffer.concat(Array.from({ length: 30 }, () => one))
    assert.equal(g.inspect(thirty), undefined)
    assert.equal(g.takeCut(), 10 * one.length, 'the 11th PUBLISH and what follows wait')
    assert.ok(g.throttleMs() > 0)
    assert.equal(g.takeCut(), undefined, 'reading the cut clears it')
  })
})

describe('topic rules', () => {
  it('checks topic names', () => {
    assert.equal(topicNameProblem('factory/line1/press'), undefined)
    assert.match(topicNameProblem('') ?? '', /empty/)
    assert.match(topicNameProblem('a/+/b') ?? '', /wildcards/)
    assert.match(topicNameProblem('a/\u0000') ?? '', /NUL/)
    assert.match(topicNameProblem('a/b/c', 2) ?? '', /more than 2 levels/)
  })

  it('checks topic filters', () => {
    assert.equal(topicFilterProblem('a/+/c/#'), undefined)
    assert.match(topicFilterProblem('a/#/c') ?? '', /'#' must be a whole level, and the last one/)
    assert.match(topicFilterProblem('a/b+') ?? '', /'\+' must be a whole level/)
  })

  it('matches with MQTT wildcard semantics', () => {
    assert.equal(topicMatches('a/+/c', 'a/b/c'), true)
    assert.equal(topicMatches('a/+/c', 'a/b/c/d'), false)
    assert.equal(topicMatches('sport/#', 'sport'), true)
    assert.equal(topicMatches('#', '$SYS/broker'), false)
    assert.equal(topicMatches('$SYS/#', '$SYS/broker'), true)
  })
})
