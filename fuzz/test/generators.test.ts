/**
 * The generators are deterministic and say what they mean: the same seed
 * plans the same bytes, seeds are valid MQTT, chunkings cover every byte,
 * and the framing helpers agree with the spec's boundary values.
 */
import assert from 'node:assert/strict'
import { parser, type Packet } from 'mqtt-packet'
import { mutate } from '../src/mutate.js'
import { planSession } from '../src/plan.js'
import { deriveSeed, SeededRandom } from '@embedmq/testing'
import { packetSeed, qos2Flow, type SeedContext } from '../src/seeds.js'
import { encodeLength, MAX_REMAINING_LENGTH, readHeader } from '../src/wire.js'

function parseAll (bytes: Buffer): { packets: Packet[], error?: string } {
  const packets: Packet[] = []
  let error: string | undefined
  const p = parser({ protocolVersion: 4 })
  p.on('packet', (packet: Packet) => packets.push(packet))
  p.on('error', (err: Error) => { error ??= err.message })
  p.parse(bytes)
  return { packets, ...(error === undefined ? {} : { error }) }
}

describe('fuzz generators', () => {
  it('plan the same bytes, chunking and ending from the same seed, and different ones from another', () => {
    const a = planSession(deriveSeed(1, 2, 3), 'tcp')
    const b = planSession(deriveSeed(1, 2, 3), 'tcp')
    const c = planSession(deriveSeed(1, 2, 4), 'tcp')
    assert.deepEqual(b, a)
    assert.notDeepEqual(c.packets, a.packets)
  })

  it('cut every session into chunks that cover its bytes exactly, within the chunk bound', () => {
    for (let i = 0; i < 300; i++) {
      const plan = planSession(deriveSeed(7, i), i % 2 === 0 ? 'tcp' : 'ws')
      const total = plan.packets.reduce((n, p) => n + p.length, 0)
      assert.equal(plan.chunks.reduce((n, c) => n + c, 0), total, `session ${i}`)
      assert.ok(plan.chunks.every(c => c > 0) && plan.chunks.length <= 2000, `session ${i}`)
      assert.equal(plan.notes.length, plan.packets.length)
    }
  })

  it('start from valid MQTT: every non-CONNECT seed parses as the packet it claims to be', () => {
    const rng = new SeededRandom(99)
    const ctx: SeedContext = { ids: [] }
    for (let i = 0; i < 500; i++) {
      const seeds = i % 10 === 0 ? qos2Flow(rng, ctx) : [packetSeed(rng, ctx)]
      for (const seed of seeds) {
        if (seed.kind === 'connect') continue // some CONNECTs carry deliberately inconsistent flags
        const { packets, error } = parseAll(seed.bytes)
        assert.equal(error, undefined, `${seed.kind}: ${seed.bytes.subarray(0, 32).toString('hex')}`)
        assert.equal(packets.length, 1)
        assert.equal(packets[0]!.cmd, seed.kind)
      }
    }
  })

  it('mutate: never an empty packet, and most mutations change the bytes', () => {
    const rng = new SeededRandom(5)
    const ctx: SeedContext = { ids: [] }
    let changed = 0
    for (let i = 0; i < 1000; i++) {
      const seed = packetSeed(rng, ctx)
      const { bytes, ops } = mutate(rng, seed.bytes, packetSeed(rng, ctx).bytes)
      assert.ok(bytes.length > 0)
      if (!bytes.equals(seed.bytes)) changed++
      assert.ok(ops.length <= 3)
    }
    assert.ok(changed > 900, `${changed} of 1000 changed`)
  })

  it('encode remaining lengths as MQTT 3.1.1 §2.2.3 does, and read them back', () => {
    const cases: Array<[number, string]> = [[0, '00'], [127, '7f'], [128, '8001'], [16_383, 'ff7f'], [16_384, '808001'],
      [2_097_151, 'ffff7f'], [2_097_152, '80808001'], [MAX_REMAINING_LENGTH, 'ffffff7f']]
    for (const [n, hex] of cases) {
      assert.equal(encodeLength(n).toString('hex'), hex)
      const header = readHeader(Buffer.concat([Buffer.from([0x30]), encodeLength(n)]))
      assert.deepEqual(header, { type: 3, flags: 0, length: n, headerBytes: 1 + hex.length / 2 })
    }
    assert.equal(encodeLength(5, 3).toString('hex'), '858000', 'non-minimal, padded to 3 bytes')
    assert.equal(readHeader(Buffer.from('30ffffffff7f', 'hex')), undefined, 'a 5-byte length is malformed')
  })
})
