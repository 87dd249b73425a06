import assert from 'node:assert/strict'
import { parseArgs } from '../src/args.js'
import { Receipts } from '../src/clients/receipts.js'
import { emptyDeliveryByQos, emptyPerQos, type IntervalStats } from '../src/protocol.js'
import { memoryVerdict, mergeRow, slowImpact, type Row } from '../src/report.js'
import { BitSet, Histogram, linearFit } from '../src/stats.js'

const MB = 1024 * 1024

/** A memory series sampled every 5 s for `minutes`, from a function of minutes, with ±noise MB jitter. */
function series (minutes: number, mbAt: (min: number) => number, noise = 1): Array<{ t: number, bytes: number }> {
  const out: Array<{ t: number, bytes: number }> = []
  for (let t = 0; t <= minutes * 60; t += 5) out.push({ t, bytes: (mbAt(t / 60) + (((t / 5) % 3) - 1) * noise) * MB })
  return out
}

function interval (received: number, latencyMs: number): IntervalStats {
  const latency = new Histogram()
  for (let i = 0; i < received; i++) latency.record(latencyMs)
  return {
    published: [100, 100, 100], accepted: [100, 100, 100], skipped: 0, received: [received, 0, 0], persistentReceived: 0,
    latency: latency.toJSON(), flapConnects: 0, willsReceived: 0, unexpectedDisconnects: 0, errors: 0,
    persistentOnline: 0, slowOpen: 0, generatorLoopP99Ms: 0, generatorCpuPct: 0
  }
}

describe('soak verdicts', () => {
  it('histogram quantiles are within a bucket (~2 %) and merge', () => {
    const a = new Histogram()
    for (let i = 1; i <= 1000; i++) a.record(i)
    const b = Histogram.from(a.toJSON())
    b.merge(a)
    assert.equal(b.count, 2000)
    assert.ok(Math.abs((b.quantile(0.5) ?? 0) - 500) / 500 < 0.03)
    assert.ok(Math.abs((b.quantile(0.99) ?? 0) - 990) / 990 < 0.03)
  })

  it('linearFit recovers a slope', () => {
    const fit = linearFit([0, 1, 2, 3, 4].map(x => ({ x, y: 3 * x + 1 })))
    assert.ok(fit && Math.abs(fit.slope - 3) < 1e-9 && fit.slopeStdErr < 1e-9)
  })

  it('memory that ramps then plateaus levels off', () => {
    const v = memoryVerdict('rss', series(4, m => 100 + 40 * Math.min(m, 1)), 30)
    assert.equal(v.levelsOff, true, v.text)
  })

  it('memory that grows steadily keeps growing, at about its rate', () => {
    const v = memoryVerdict('rss', series(4, m => 100 + 5 * m), 30)
    assert.equal(v.levelsOff, false, v.text)
    assert.match(v.text, /keeps growing: 5\.\d\d MB\/min/)
  })

  it('too few samples give no verdict', () => {
    assert.equal(memoryVerdict('rss', series(0.2, () => 100), 0).levelsOff, undefined)
  })

  it('a stall in the slow phase counts as hurting the others', () => {
    const rows: Row[] = [
      mergeRow(5, 5, 'baseline', undefined, [interval(1000, 5)], 1),
      mergeRow(10, 5, 'baseline', undefined, [interval(1000, 5)], 1),
      mergeRow(15, 5, 'slow', undefined, [interval(1000, 6)], 1),
      mergeRow(20, 5, 'slow', undefined, [interval(0, 0)], 1)
    ]
    const impact = slowImpact(rows)
    assert.equal(impact.hurt, true, impact.text)
    assert.match(impact.text, /1 of 2 slow-phase intervals stalled/)
  })

  it('unchanged latency and rate do not', () => {
    const rows: Row[] = [
      mergeRow(5, 5, 'baseline', undefined, [interval(1000, 5)], 1),
      mergeRow(10, 5, 'slow', undefined, [interval(1000, 6)], 1)
    ]
    assert.equal(slowImpact(rows).hurt, false)
  })

  it('receipts owe acknowledged publishes on matching streams, by delivered QoS', () => {
    const r = new Receipts('sub', 'soak/a/+/q2', 1, 'always-on')
    for (const seq of [0, 1, 3]) r.record('soak/a/p001/q2', seq)
    assert.equal(r.record('soak/a/p001/q2', 3), false) // a duplicate
    const into = emptyDeliveryByQos()
    const examples: string[] = []
    const byLink: Record<string, number> = {}
    r.account([
      { topic: 'soak/a/p001/q2', qos: 2, sent: 5, unacked: [4] }, // seq 4 was never acknowledged: not owed
      { topic: 'soak/b/p002/q2', qos: 2, sent: 9, unacked: [] } // does not match the filter
    ], into, examples, byLink)
    assert.deepEqual(into[1], { expected: 4, received: 3, missing: 1, duplicates: 1 }) // QoS 2 publish, QoS 1 subscription
    assert.deepEqual(examples, ['soak/a/p001/q2#2 -> sub'])
    assert.deepEqual(byLink, { 'always-on publish QoS 2 → subscription QoS 1': 1 })
  })

  it('bitset grows', () => {
    const b = new BitSet()
    assert.equal(b.set(1_000_000), false)
    assert.equal(b.set(1_000_000), true)
    assert.equal(b.has(999_999), false)
  })

  it('parses options and refuses bad ones', () => {
    const o = parseArgs(['--minutes', '3', '--rate=500', '--skip', 'slow,idle'])
    assert.ok(o !== 'help')
    assert.equal(o.minutes, 3)
    assert.equal(o.rate, 500)
    assert.deepEqual(o.skip, ['slow', 'idle'])
    assert.deepEqual(emptyPerQos(), [0, 0, 0])
    assert.throws(() => parseArgs(['--clients', '3']), /--clients needs a number from 10/)
    assert.throws(() => parseArgs(['--bogus']), /unknown option/)
  })
})
