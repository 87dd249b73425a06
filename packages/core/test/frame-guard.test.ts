import assert from 'node:assert/strict'
import mqttPacket from 'mqtt-packet'
import { FrameGuard } from '../src/frame-guard.js'
import { topicFilterProblem, topicMatches, topicNameProblem } from '../src/index.js'

const publish = (payloadBytes: number): Buffer => mqttPacket.generate({
  cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(payloadBytes), qos: 0, retain: false, dup: false
})

describe('FrameGuard', () => {
  it('accepts packets up to the limit, however the bytes are split', () => {
    const packets = Buffer.concat([publish(10), publish(90), publish(0)])
    for (let split = 1; split < packets.length; split++) {
      const guard = new FrameGuard(publish(90).length)
      assert.equal(guard.inspect(packets.subarray(0, split)), undefined)
      assert.equal(guard.inspect(packets.subarray(split)), undefined)
    }
  })

  it('refuses a packet over the limit from its header alone', () => {
    const guard = new FrameGuard(1024)
    const header = publish(100 * 1024 * 1024).subarray(0, 5)
    assert.match(guard.inspect(header) ?? '', /packet of 104857\d+ bytes exceeds the maximum packet size of 1024 bytes/)
  })

  it('refuses a remaining length longer than four bytes', () => {
    assert.match(new FrameGuard(1024).inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])) ?? '', /malformed remaining length/)
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
