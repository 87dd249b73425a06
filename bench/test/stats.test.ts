import assert from 'node:assert/strict'
import { advantage, cpuPercent, median, percentile, summarizeLatency } from '../src/stats.js'

describe('bench statistics', () => {
  it('takes medians of odd and even counts, ignoring failed (NaN) rounds', () => {
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median([4, 1, 3, 2]), 2.5)
    assert.equal(median([5, Number.NaN, 1, 3]), 3)
    assert.ok(Number.isNaN(median([])))
  })

  it('uses nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
    assert.equal(percentile(sorted, 0.5), 50)
    assert.equal(percentile(sorted, 0.99), 99)
    assert.equal(percentile([7], 0.99), 7)
  })

  it('summarizes only the recorded part of the sample buffer', () => {
    const samples = new Float64Array([3, 1, 2, 99, 99])
    assert.deepEqual(summarizeLatency(samples, 3), { count: 3, p50: 2, p99: 3, max: 3 })
  })

  it('expresses CPU as % of one core', () => {
    assert.equal(cpuPercent({ user: 0, system: 0 }, { user: 600_000, system: 400_000 }, 1000), 100)
  })

  it('orients ratios so above 1 means the first did better', () => {
    assert.equal(advantage(200, 100, 'higher'), 2)
    assert.equal(advantage(1, 2, 'lower'), 2)
    assert.ok(Number.isNaN(advantage(0, 2, 'higher')))
  })
})
