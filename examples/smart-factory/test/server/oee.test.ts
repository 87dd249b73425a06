import assert from 'node:assert/strict'
import { MachineOeeTracker, oeeFigures, sumInputs } from '../../src/server/controller/oee.js'

const MIN = 60_000

describe('OEE arithmetic', () => {
  it('computes availability, performance and quality on known inputs', () => {
    const t = new MachineOeeTracker(60)          // one part a second at the ideal rate
    t.recordCounters(0, 0, 0)                    // baseline
    t.recordState('RUNNING', 0)
    t.recordState('IDLE', 30_000)
    t.recordState('MAINTENANCE', 40_000)
    t.recordCounters(24, 3, 30_000)
    const inputs = t.inputs(60_000, MIN)
    assert.deepEqual(inputs, { runningMs: 30_000, plannedMs: 40_000, parts: 24, scrap: 3, idealParts: 30 })
    const f = oeeFigures(inputs, MIN, 60_000)
    assert.equal(f.availability, 0.75)            // 30 s running of 40 s planned (maintenance is not planned time)
    assert.equal(f.performance, 0.8)              // 24 parts of 30 ideal
    assert.equal(f.quality, 0.875)                // 21 good of 24
    assert.equal(f.oee, 0.525)
    assert.equal(f.windowSeconds, 60)
  })

  it('counts across a counter reset (the machine restarted and counts from zero)', () => {
    const t = new MachineOeeTracker(60)
    t.recordState('RUNNING', 0)
    t.recordCounters(100, 10, 1000)              // baseline: counted before the window
    t.recordCounters(110, 11, 2000)              // +10, +1
    t.recordCounters(5, 0, 3000)                 // restart: +5, +0
    t.recordCounters(8, 1, 4000)                 // +3, +1
    const inputs = t.inputs(10_000, MIN)
    assert.equal(inputs.parts, 18)
    assert.equal(inputs.scrap, 2)
  })

  it('caps performance at 1 and forgets what left the window', () => {
    const t = new MachineOeeTracker(6)            // one part every 10 s
    t.recordState('RUNNING', 0)
    t.recordCounters(0, 0, 0)
    t.recordCounters(50, 0, 10_000)               // far faster than ideal
    assert.equal(oeeFigures(t.inputs(20_000, MIN), MIN, 20_000).performance, 1)
    // 2 minutes later, with a 1-minute window, those parts and that running time are gone…
    t.recordState('IDLE', 60_000)
    const later = t.inputs(150_000, MIN)
    assert.equal(later.parts, 0)
    assert.equal(later.runningMs, 0)
    assert.equal(later.plannedMs, MIN)           // …and the IDLE span that covers the window is planned time
    const f = oeeFigures(later, MIN, 150_000)
    assert.deepEqual([f.availability, f.performance, f.quality, f.oee], [0, 0, 1, 0])
  })

  it('adds up a line from its machines, weighted by time and parts', () => {
    const a = { runningMs: 60_000, plannedMs: 60_000, parts: 10, scrap: 0, idealParts: 10 }
    const b = { runningMs: 0, plannedMs: 60_000, parts: 0, scrap: 0, idealParts: 0 }
    const f = oeeFigures(sumInputs([a, b]), MIN, 0)
    assert.equal(f.availability, 0.5)
    assert.equal(f.performance, 1)
    assert.equal(f.oee, 0.5)
  })
})
