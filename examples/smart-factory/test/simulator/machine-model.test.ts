import assert from 'node:assert/strict'
import { defaultPlant, type MachineSpec } from '../../src/shared/plant.js'
import type { Command, MachineKind } from '../../src/shared/topics.js'
import { parseCommand } from '../../src/simulator/command.js'
import { KIND_PROFILES } from '../../src/simulator/machine-profiles.js'
import { EXCURSION_TEMPERATURE, EXCURSION_VIBRATION, MachineModel, TRANSITIONS, type MachineModelOptions, type ModelEvent } from '../../src/simulator/machine-model.js'
import { createRandom } from '../../src/simulator/random.js'

const T0 = 1_700_000_000_000
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const plant = defaultPlant()

function spec (kind: MachineKind): MachineSpec {
  const found = plant.machines.find(m => m.kind === kind)
  assert.ok(found, kind)
  return found
}

/** A quiet machine: nothing happens by chance unless a test turns it on. */
function model (kind: MachineKind = 'cnc-mill', options: Partial<MachineModelOptions> = {}): MachineModel {
  return new MachineModel(spec(kind), { random: createRandom(42), faultsPerHour: 0, microStopsPerHour: 0, excursionsPerHour: 0, autoRecoverMs: 0, ...options }, T0)
}

let seq = 0
function cmd (action: Command['action'], extra: Partial<Command> = {}): Command {
  return { id: `c-${++seq}`, action, by: 'anna', ts: T0, ...extra }
}

const states = (events: ModelEvent[]): string[] => events.flatMap(e => e.type === 'state' ? [e.message.state] : [])
const alarms = (events: ModelEvent[]): string[] => events.flatMap(e => e.type === 'alarm' ? [e.alarm.code] : [])

describe('simulator: machine model', () => {
  describe('state machine and command acks', () => {
    it('starts RUNNING; stop → IDLE with the operator in the reason, start → RUNNING', () => {
      const m = model()
      assert.equal(m.state, 'RUNNING')
      const stop = m.handle(cmd('stop', { id: 'x1' }), T0 + 1000)
      assert.deepEqual(stop.ack, { id: 'x1', ok: true, state: 'IDLE', ts: T0 + 1000 })
      assert.deepEqual(states(stop.events), ['IDLE'])
      assert.equal(m.stateMessage().reason, 'stopped by anna')
      const start = m.handle(cmd('start'), T0 + 2000)
      assert.equal(start.ack.ok, true)
      assert.equal(start.ack.state, 'RUNNING')
      assert.deepEqual(m.stateMessage(), { state: 'RUNNING', ts: T0 + 2000, reason: 'started by anna' })
    })

    it('refuses start in FAULT ("reset first"), and reset → IDLE, then start works', () => {
      const m = model()
      const fault = m.handle(cmd('fault'), T0 + 1000)
      assert.equal(fault.ack.ok, true)
      assert.equal(m.state, 'FAULT')
      assert.equal(alarms(fault.events).length, 1)
      assert.ok(KIND_PROFILES['cnc-mill'].faults.some(f => f.code === m.stateMessage().reason), 'the reason is the fault code')
      const start = m.handle(cmd('start', { id: 'refused' }), T0 + 2000)
      assert.equal(start.ack.ok, false)
      assert.equal(start.ack.id, 'refused')
      assert.equal(start.ack.state, 'FAULT')
      assert.match(start.ack.error ?? '', /FAULT; reset first/)
      assert.deepEqual(start.events, [], 'a refusal changes nothing')
      assert.equal(m.handle(cmd('reset'), T0 + 3000).ack.state, 'IDLE')
      assert.equal(m.handle(cmd('start'), T0 + 4000).ack.state, 'RUNNING')
    })

    it('refuses reset and maintenance while RUNNING, and a second fault in FAULT', () => {
      const m = model()
      assert.match(m.handle(cmd('reset'), T0).ack.error ?? '', /stop first/)
      assert.match(m.handle(cmd('maintenance'), T0).ack.error ?? '', /stop first/)
      m.handle(cmd('fault'), T0)
      const again = m.handle(cmd('fault'), T0)
      assert.equal(again.ack.ok, false)
      assert.match(again.ack.error ?? '', /already in FAULT/)
    })

    it('maintenance from IDLE or FAULT; start refused during it; reset ends it', () => {
      const m = model()
      m.handle(cmd('fault'), T0)
      assert.equal(m.handle(cmd('maintenance'), T0 + 1).ack.state, 'MAINTENANCE')
      assert.match(m.handle(cmd('start'), T0 + 2).ack.error ?? '', /MAINTENANCE/)
      assert.match(m.handle(cmd('fault'), T0 + 2).ack.error ?? '', /MAINTENANCE/)
      assert.equal(m.handle(cmd('reset'), T0 + 3).ack.state, 'IDLE')
      assert.equal(m.handle(cmd('maintenance'), T0 + 4).ack.state, 'MAINTENANCE')
    })

    it('stop is accepted in every state (safe); reset in IDLE and start in RUNNING are no-ops', () => {
      const m = model()
      assert.deepEqual(m.handle(cmd('start'), T0).events, [])
      m.handle(cmd('fault'), T0)
      const stop = m.handle(cmd('stop'), T0)
      assert.equal(stop.ack.ok, true)
      assert.equal(stop.ack.state, 'FAULT', 'stop does not clear a fault')
      m.handle(cmd('reset'), T0)
      const reset = m.handle(cmd('reset'), T0)
      assert.equal(reset.ack.ok, true)
      assert.deepEqual(reset.events, [])
    })

    it('set-rate takes 10–120 in any state and refuses anything else with the allowed range', () => {
      const m = model()
      assert.equal(m.handle(cmd('set-rate', { value: 80 }), T0).ack.ok, true)
      assert.equal(m.ratePercent, 80)
      for (const value of [5, 121, Number.NaN, undefined]) {
        const out = m.handle(cmd('set-rate', value === undefined ? {} : { value }), T0)
        assert.equal(out.ack.ok, false, String(value))
        assert.match(out.ack.error ?? '', /10–120/)
      }
      assert.equal(m.ratePercent, 80)
      assert.equal(m.telemetry().ratePercent, 80)
    })

    it('every state change the model makes is an allowed transition', () => {
      const m = model('press', { faultsPerHour: 20, microStopsPerHour: 30, autoRecoverMs: 20_000, random: createRandom(7) })
      let prev = m.state
      for (let t = T0; t < T0 + 4 * HOUR; t += 5000) {
        for (const s of states(m.advance(t))) {
          assert.ok(s === prev || (TRANSITIONS as Record<string, readonly string[]>)[prev]?.includes(s), `${prev} → ${s}`)
          prev = s as typeof prev
        }
      }
    })
  })

  describe('telemetry', () => {
    it('counts parts at about ideal rate × rate %, monotonic, with scrap a few percent and ≤ parts', () => {
      const m = model('press', { random: createRandom(3) })
      let last = m.telemetry()
      for (let t = T0; t <= T0 + HOUR; t += 10_000) {
        m.advance(t)
        const s = m.telemetry()
        assert.ok(s.partCount >= last.partCount && s.scrapCount >= last.scrapCount, 'monotonic')
        assert.ok(s.scrapCount <= s.partCount, 'scrap ≤ parts')
        last = s
      }
      const ideal = spec('press').idealPartsPerMinute * 60
      assert.ok(last.partCount > 0.8 * ideal && last.partCount < ideal, `${last.partCount} parts in an hour at ideal ${ideal}`)
      const scrapShare = last.scrapCount / last.partCount
      assert.ok(scrapShare > 0.01 && scrapShare < 0.08, `scrap ${scrapShare}`)
    })

    it('a lower rate makes fewer parts; a stopped machine makes none', () => {
      const full = model('conveyor')
      const half = model('conveyor')
      half.handle(cmd('set-rate', { value: 50 }), T0)
      full.advance(T0 + 10 * MINUTE)
      half.advance(T0 + 10 * MINUTE)
      assert.ok(half.partCount < full.partCount * 0.6, `${half.partCount} vs ${full.partCount}`)
      half.handle(cmd('stop'), T0 + 10 * MINUTE)
      const before = half.partCount
      half.advance(T0 + 20 * MINUTE)
      assert.equal(half.partCount, before)
    })

    it('CNC: spindle 8–12k rpm while running and 0 when stopped; warms up running and cools idle', () => {
      const m = model('cnc-mill')
      const cold = m.telemetry().temperature
      m.advance(T0 + 15 * MINUTE)
      const running = m.telemetry()
      assert.ok(running.spindleSpeed !== undefined && running.spindleSpeed >= 8000 && running.spindleSpeed <= 12000, String(running.spindleSpeed))
      assert.equal(running.cycleTime, undefined)
      assert.ok(running.temperature > cold + 15, `warmed from ${cold} to ${running.temperature}`)
      m.handle(cmd('stop'), T0 + 15 * MINUTE)
      m.advance(T0 + 30 * MINUTE)
      const idle = m.telemetry()
      assert.equal(idle.spindleSpeed, 0)
      assert.ok(idle.temperature < running.temperature - 10, `cooled from ${running.temperature} to ${idle.temperature}`)
      assert.ok(idle.vibration < 0.2)
    })

    it('press, conveyor and robot report a cycle time near 60 / (ideal × rate)', () => {
      for (const kind of ['press', 'conveyor', 'packaging-robot'] as const) {
        const m = model(kind)
        m.advance(T0 + 5 * MINUTE)
        const s = m.telemetry()
        const nominal = 60 / spec(kind).idealPartsPerMinute
        assert.equal(s.spindleSpeed, undefined)
        assert.ok(s.cycleTime !== undefined && s.cycleTime >= nominal && s.cycleTime < nominal * 1.25, `${kind}: ${s.cycleTime} vs ${nominal}`)
      }
    })

    it('excursions push temperature or vibration over the alarm thresholds, then settle', () => {
      const m = model('conveyor', { excursionsPerHour: 30, random: createRandom(11) })
      let hot = false
      let shaking = false
      for (let t = T0; t < T0 + 2 * HOUR; t += 1000) {
        m.advance(t)
        const s = m.telemetry()
        if (s.temperature > EXCURSION_TEMPERATURE.min - 5) hot = true
        if (s.vibration > EXCURSION_VIBRATION.min - 1) shaking = true
      }
      assert.ok(hot && shaking, `hot ${hot}, shaking ${shaking}`)
      const calm = model('conveyor')
      for (let t = T0; t < T0 + 2 * HOUR; t += 1000) {
        calm.advance(t)
        const s = calm.telemetry()
        assert.ok(s.temperature < 60 && s.vibration < 5, JSON.stringify(s))
      }
    })
  })

  describe('chance', () => {
    it('the same seed gives the same run; another seed a different one', () => {
      const run = (seed: number): string => {
        const m = model('packaging-robot', { random: createRandom(seed), faultsPerHour: 5, microStopsPerHour: 10, excursionsPerHour: 5, autoRecoverMs: 60_000 })
        const out: unknown[] = []
        for (let t = T0; t < T0 + HOUR; t += 7000) out.push(m.advance(t), m.telemetry())
        return JSON.stringify(out)
      }
      assert.equal(run(1), run(1))
      assert.notEqual(run(1), run(2))
    })

    it('random faults come at about the configured rate, with the kind\'s codes and an alarm each', () => {
      const kinds: MachineKind[] = ['cnc-mill', 'press', 'conveyor', 'packaging-robot']
      for (const kind of kinds) {
        // Recovered after ~1 min, so almost all of the 10 h are running time.
        const m = model(kind, { faultsPerHour: 6, autoRecoverMs: 60_000, random: createRandom(kind) })
        const events = m.advance(T0 + 10 * HOUR)
        const codes = alarms(events)
        assert.ok(codes.length >= 35 && codes.length <= 90, `${kind}: ${codes.length} faults in 10 h at 6/h`)
        const known = KIND_PROFILES[kind].faults.map(f => f.code)
        assert.ok(codes.every(c => known.includes(c)), `${kind}: ${codes.join()}`)
        assert.equal(states(events).filter(s => s === 'FAULT').length, codes.length)
      }
      const none = model('press', { faultsPerHour: 0 })
      assert.deepEqual(alarms(none.advance(T0 + 10 * HOUR)), [])
    })

    it('without auto-recovery a fault stays until a reset command', () => {
      const m = model('conveyor')
      m.handle(cmd('fault'), T0)
      m.advance(T0 + 10 * HOUR)
      assert.equal(m.state, 'FAULT')
    })

    it('auto-recovery resets and restarts a faulted machine after a while', () => {
      const m = model('conveyor', { autoRecoverMs: 60_000 })
      m.handle(cmd('fault'), T0)
      const events = m.advance(T0 + 2 * MINUTE)
      assert.deepEqual(states(events), ['IDLE', 'RUNNING'])
      assert.equal(m.stateMessage().reason, 'restarted at the machine')
    })

    it('micro-stops pause a running machine briefly and it resumes by itself', () => {
      const m = model('packaging-robot', { microStopsPerHour: 20, random: createRandom(5) })
      const events = m.advance(T0 + HOUR)
      const changes = events.flatMap(e => e.type === 'state' ? [e.message] : [])
      assert.ok(changes.length >= 10, `${changes.length} changes`)
      assert.ok(changes.filter(c => c.state === 'IDLE').every(c => c.reason?.startsWith('micro-stop:')))
      assert.ok(changes.filter(c => c.state === 'RUNNING').every(c => c.reason === 'resumed after micro-stop'))
      // A micro-stop lasts seconds: nearly all of the hour was running.
      m.advance(T0 + HOUR + 20_000)
      assert.equal(m.state, 'RUNNING')
    })

    it('an operator stop during a micro-stop sticks', () => {
      const m = model('packaging-robot', { microStopsPerHour: 3600, random: createRandom(9) })
      m.advance(T0 + 5000)
      assert.equal(m.state, 'IDLE')
      m.handle(cmd('stop'), T0 + 5000)
      assert.equal(m.stateMessage().reason, 'stopped by anna')
      m.advance(T0 + HOUR)
      assert.equal(m.state, 'IDLE')
    })
  })

  describe('command payloads', () => {
    it('parses a valid command and fills a missing ts', () => {
      assert.deepEqual(parseCommand('{"id":"a","action":"set-rate","value":90}', 5), { ok: true, command: { id: 'a', action: 'set-rate', value: 90, ts: 5 } })
    })

    it('refuses bad payloads, keeping the id when it is readable', () => {
      const notJson = parseCommand('not json', 0)
      assert.deepEqual(notJson, { ok: false, id: undefined, error: 'payload is not a JSON object' })
      const badAction = parseCommand('{"id":"b","action":"explode"}', 0)
      assert.equal(badAction.ok, false)
      assert.equal(!badAction.ok && badAction.id, 'b')
      assert.match(!badAction.ok ? badAction.error : '', /action/)
      assert.equal(parseCommand('[1,2]', 0).ok, false)
      assert.equal(parseCommand(Buffer.from([0xff, 0xfe]), 0).ok, false)
    })
  })
})
