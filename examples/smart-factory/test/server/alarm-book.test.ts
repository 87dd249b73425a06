import assert from 'node:assert/strict'
import { AlarmBook, GENERIC_FAULT_CODE, type ControllerAlarm } from '../../src/server/controller/alarm-book.js'
import { DEFAULT_THRESHOLDS } from '../../src/server/controller/thresholds.js'
import { defaultPlant } from '../../src/shared/plant.js'
import type { Telemetry } from '../../src/shared/topics.js'

const plant = defaultPlant()
const press = plant.machines.find(m => m.kind === 'press')!

function book (): { book: AlarmBook, published: ControllerAlarm[], removed: string[], clock: { now: number } } {
  const published: ControllerAlarm[] = []
  const removed: string[] = []
  const clock = { now: 1000 }
  const b = new AlarmBook(plant.site, { publish: a => published.push({ ...a }), remove: a => removed.push(a.id) }, () => clock.now)
  return { book: b, published, removed, clock }
}

const telemetry = (vibration: number): Telemetry => ({ ts: 0, state: 'RUNNING', temperature: 40, vibration, partCount: 0, scrapCount: 0, ratePercent: 100 })

describe('alarm book', () => {
  it('a critical machine alarm before the FAULT state is the one alarm of that fault', () => {
    const { book: b } = book()
    b.onMachineAlarm(press, { ts: 0, code: 'DIE_MISALIGNMENT', severity: 'critical', message: 'die' }, 'RUNNING')
    b.onState(press, 'FAULT', 'DIE_MISALIGNMENT')
    assert.deepEqual(b.list().map(a => a.code), ['DIE_MISALIGNMENT'])
  })

  it('a FAULT state without a machine alarm raises a generic one; OFFLINE does not clear it, IDLE does', () => {
    const { book: b } = book()
    b.onState(press, 'FAULT', undefined)
    assert.equal(b.list()[0]?.code, GENERIC_FAULT_CODE)
    b.onState(press, 'OFFLINE', 'connection lost')
    assert.equal(b.list()[0]?.cleared, false)
    b.onState(press, 'IDLE', 'reset')
    assert.equal(b.list()[0]?.cleared, true)
  })

  it('a warning outside a fault is a notice: cleared from the start, removed when acknowledged, not repeated while open', () => {
    const { book: b, removed } = book()
    const notice = { ts: 0, code: 'LIGHT_CURTAIN_TRIPPED', severity: 'warning' as const, message: 'curtain' }
    b.onMachineAlarm(press, notice, 'RUNNING')
    b.onMachineAlarm(press, notice, 'RUNNING')
    assert.equal(b.list().length, 1)
    const [alarm] = b.list()
    assert.equal(alarm!.cleared, true)
    assert.equal(b.acknowledge(alarm!.id, 'anna')?.removed, true)
    assert.deepEqual(removed, [alarm!.id])
    assert.equal(b.list().length, 0)
  })

  it('vibration: hysteresis per metric, one alarm per excursion', () => {
    const { book: b, published } = book()
    const limits = DEFAULT_THRESHOLDS.press
    for (const v of [5, 7.2, 9, 6.5, 8, 6.2]) b.onTelemetry(press, telemetry(v), limits)
    assert.equal(b.list().length, 1)
    assert.equal(b.list()[0]!.code, 'VIBRATION_HIGH')
    assert.equal(published.length, 1, 'published once: no update while the value stays in the band')
    b.onTelemetry(press, telemetry(5.9), limits)
    assert.equal(b.list()[0]!.cleared, true)
  })

  it('acknowledging twice keeps the first record; ids are unique and topic-safe', () => {
    const { book: b, clock } = book()
    b.onState(press, 'FAULT', undefined)
    const id = b.list()[0]!.id
    assert.match(id, /^[A-Za-z0-9-]+$/)
    b.acknowledge(id, 'anna')
    clock.now = 5000
    b.acknowledge(id, 'bob')
    assert.equal(b.get(id)?.acknowledgedBy, 'anna')
    assert.equal(b.get(id)?.acknowledgedAt, 1000)
    b.onState(press, 'IDLE', undefined)
    b.onState(press, 'FAULT', undefined)
    assert.notEqual(b.list()[0]!.id, id)
  })

  it('restores retained alarms: acknowledged-and-cleared ones are removed, open ones keep tracking', () => {
    const { book: b, removed } = book()
    const base = { site: plant.site, line: press.line, machine: press.id, severity: 'warning' as const, message: 'm', raisedAt: 1 }
    b.restore({ ...base, id: 'x1', code: 'C', condition: 'event', cleared: true, acknowledgedBy: 'anna', acknowledgedAt: 2 })
    b.restore({ ...base, id: 'x2', code: 'VIBRATION_HIGH', condition: 'threshold:vibration', cleared: false })
    assert.deepEqual(removed, ['x1'])
    b.onTelemetry(press, telemetry(9), DEFAULT_THRESHOLDS.press)
    assert.equal(b.list().length, 1, 'the restored excursion is still the open one')
    b.onTelemetry(press, telemetry(1), DEFAULT_THRESHOLDS.press)
    assert.equal(b.get('x2')?.cleared, true)
  })
})
