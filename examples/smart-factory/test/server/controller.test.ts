/**
 * The line controller against a real broker (startTestBroker): machines are
 * in-process publishes for telemetry/state, and real mqtt.js clients
 * (FakeMachine) where the command round trip matters.
 */
import assert from 'node:assert/strict'
import { eventually, startTestBroker, type TestBroker } from '@embedmq/testing'
import { LineController } from '../../src/server/controller/controller.js'
import type { ControllerAlarm } from '../../src/server/controller/alarm-book.js'
import { defaultPlant } from '../../src/shared/plant.js'
import { alarmTopic, Filters, machineTopic, parseJson, type MachineState, type OeeFigures } from '../../src/shared/topics.js'
import { FakeMachine } from './helpers/fake-machine.js'

const plant = defaultPlant()
const SITE = plant.site
const cnc = plant.machines.find(m => m.kind === 'cnc-mill')!           // temperature: raise above 65, clear below 60
const addr = { site: SITE, line: cnc.line, machine: cnc.id }

async function retainedAlarms (tb: TestBroker): Promise<ControllerAlarm[]> {
  const out: ControllerAlarm[] = []
  for await (const m of tb.broker.retained(Filters.alarms(SITE))) {
    const a = parseJson<ControllerAlarm>(m.payload)
    if (a) out.push(a)
  }
  return out
}

/** eventually() for checks that have to await. */
async function eventuallyAsync (check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('line controller', function () {
  this.timeout(20_000)
  let tb: TestBroker
  let controller: LineController
  const machines: FakeMachine[] = []

  beforeEach(async () => {
    tb = await startTestBroker({ allowAnonymous: true })
    controller = new LineController(tb.broker, plant, tb.logs, { commandTimeoutMs: 500, oeePublishIntervalMs: 60_000 })
    await controller.start()
  })
  afterEach(async () => {
    await Promise.all(machines.splice(0).map(m => m.close().catch(() => undefined)))
    await controller.stop()
    await tb.stop()
  })

  const telemetry = (temperature: number, extra: Record<string, unknown> = {}): Promise<void> =>
    tb.broker.publish(machineTopic(addr, 'telemetry'), JSON.stringify({ ts: Date.now(), state: 'RUNNING', temperature, vibration: 1, partCount: 0, scrapCount: 0, ratePercent: 100, ...extra }))
  const state = (s: MachineState, reason?: string): Promise<void> =>
    tb.broker.publish(machineTopic(addr, 'state'), JSON.stringify({ state: s, ts: Date.now(), reason }), { qos: 1, retain: true })

  it('raises one alarm per temperature excursion (hysteresis), clears it below the clear level', async () => {
    for (const t of [50, 66, 70, 61, 75, 62]) await telemetry(t)       // one excursion: never below 60 in between
    await eventually(() => controller.alarms().length === 1, 'one alarm')
    const [alarm] = controller.alarms()
    assert.equal(alarm!.code, 'TEMPERATURE_HIGH')
    assert.equal(alarm!.cleared, false)
    await telemetry(59)                                                   // below the clear level
    await eventually(() => controller.alarms()[0]?.cleared === true, 'the condition to clear')
    await telemetry(66)                                                   // a second excursion: a second alarm
    await eventually(() => controller.alarms().length === 2, 'a second alarm')
    await eventuallyAsync(async () => (await retainedAlarms(tb)).length === 2, 'both alarms retained until acknowledged')
  })

  it('keeps a fault alarm through ack until the fault clears, then removes it (empty retained)', async () => {
    await state('RUNNING')
    await state('FAULT', 'E-42')
    await eventually(() => controller.alarms().length === 1, 'a fault alarm')
    // The machine's own alarm names the fault: it takes over the generic FAULT alarm rather than adding one.
    await tb.broker.publish(machineTopic(addr, 'alarm'), JSON.stringify({ ts: Date.now(), code: 'E-42', severity: 'critical', message: 'spindle overload' }), { qos: 1 })
    await eventually(() => controller.alarms()[0]?.code === 'E-42', 'the alarm to take the machine\'s code')
    assert.equal(controller.alarms().length, 1)
    const id = controller.alarms()[0]!.id

    const acked = controller.acknowledgeAlarm(id, 'operator')
    assert.equal(acked?.removed, false, 'still in FAULT')
    await eventuallyAsync(async () => (await retainedAlarms(tb))[0]?.acknowledgedBy === 'operator', 'the retained alarm to say who acknowledged')
    assert.ok(typeof (await retainedAlarms(tb))[0]?.acknowledgedAt === 'number')

    await state('IDLE', 'reset')
    await eventually(() => controller.alarms().length === 0, 'the alarm to be removed once cleared')
    await eventuallyAsync(async () => (await retainedAlarms(tb)).length === 0, 'no retained alarm left')
    assert.equal(controller.acknowledgeAlarm(id, 'operator'), undefined)
    const audit = controller.auditEntries()
    assert.equal(audit[0]?.kind, 'alarm-ack')
    assert.equal(audit[0]?.by, 'operator')
  })

  it('removes a cleared alarm when it is acknowledged, and restores unacknowledged ones after a restart', async () => {
    await state('FAULT', 'E-1')
    await eventually(() => controller.alarms().length === 1, 'a fault alarm')
    await telemetry(90, { state: 'FAULT' })
    await eventually(() => controller.alarms().length === 2, 'a temperature alarm too')
    await telemetry(50, { state: 'FAULT' })
    await eventually(() => controller.alarms().some(a => a.cleared), 'the temperature alarm to clear')

    // A new controller (a restart) reads them back from the retained messages.
    await controller.stop()
    controller = new LineController(tb.broker, plant, tb.logs, { oeePublishIntervalMs: 60_000 })
    await controller.start()
    assert.deepEqual(controller.alarms().map(a => a.code).sort(), ['FAULT', 'TEMPERATURE_HIGH'])
    const cleared = controller.alarms().find(a => a.cleared)!
    assert.equal(controller.acknowledgeAlarm(cleared.id, 'anna')?.removed, true)
    // The restored fault alarm still tracks its condition: leaving FAULT clears it.
    await state('IDLE')
    await eventually(() => controller.alarms()[0]?.cleared === true, 'the restored fault alarm to clear')
    await eventuallyAsync(async () => (await retainedAlarms(tb)).length === 1, 'only the fault alarm retained')
  })

  it('publishes OEE per machine and per line, retained', async () => {
    // Its own controller on a clock the test moves: 30 s of RUNNING, 2 parts, 1 scrapped.
    let now = 1_000_000
    const clocked = new LineController(tb.broker, plant, tb.logs, { oeePublishIntervalMs: 60_000, now: () => now })
    await clocked.start()
    try {
      await state('RUNNING')
      await telemetry(50, { partCount: 10, scrapCount: 0 })
      await telemetry(50, { partCount: 12, scrapCount: 1 })
      await eventually(() => clocked.oee({ machine: cnc.id })?.quality === 0.5, 'the controller to count 2 parts, 1 scrapped')
      now += 30_000
      await clocked.publishOee()
    } finally {
      await clocked.stop()
    }
    const machineOee = [] as OeeFigures[]
    for await (const m of tb.broker.retained(machineTopic(addr, 'oee'))) machineOee.push(parseJson<OeeFigures>(m.payload)!)
    assert.equal(machineOee.length, 1)
    assert.equal(machineOee[0]!.availability, 1)
    assert.equal(machineOee[0]!.performance, 0.3333)                     // 2 parts of 6 ideal (12/min for 30 s)
    assert.equal(machineOee[0]!.quality, 0.5)
    assert.equal(machineOee[0]!.oee, 0.1667)
    let lineOee: OeeFigures | undefined
    for await (const m of tb.broker.retained(`factory/${SITE}/${cnc.line}/oee`)) lineOee = parseJson<OeeFigures>(m.payload)
    assert.ok(lineOee, 'line OEE is retained')
    assert.equal(lineOee.oee, 0.1667, 'the only machine seen on the line makes the line figure')
    assert.equal(lineOee.windowSeconds, 300)
  })

  it('sends a command and returns the machine\'s ack; refusals carry the machine\'s reason', async () => {
    const m = await new FakeMachine(tb.url('tcp'), SITE, cnc).connect()
    machines.push(m)
    const result = await controller.sendCommand(cnc.id, 'stop', undefined, 'operator')
    assert.equal(result.status, 'acknowledged')
    assert.ok(result.status === 'acknowledged' && result.ack.ok && result.ack.state === 'IDLE')
    assert.equal(m.received[0]?.by, 'operator')
    assert.equal(m.received[0]?.id, result.command.id)

    await controller.sendCommand(cnc.id, 'fault', undefined, 'operator')
    const refused = await controller.sendCommand(cnc.id, 'start', undefined, 'operator')
    assert.ok(refused.status === 'acknowledged' && !refused.ack.ok)
    assert.match(refused.ack.error ?? '', /reset first/)
    assert.match(controller.auditEntries()[0]!.outcome, /^refused: cannot start/)
  })

  it('times out when the machine does not answer', async () => {
    const m = await new FakeMachine(tb.url('tcp'), SITE, cnc, { answer: false }).connect()
    machines.push(m)
    const result = await controller.sendCommand(cnc.id, 'stop', undefined, 'operator')
    assert.equal(result.status, 'timeout')
    assert.match(result.status === 'timeout' ? result.error : '', /did not acknowledge stop within 0.5 s/)
    assert.equal(m.received.length, 1, 'the command was delivered all the same')
  })

  it('queues a command for an offline machine; it is delivered when the machine reconnects', async () => {
    const m = await new FakeMachine(tb.url('tcp'), SITE, cnc).connect()
    await m.close()                                                       // persistent session stays
    const result = await controller.sendCommand(cnc.id, 'maintenance', undefined, 'operator')
    assert.equal(result.status, 'queued')
    assert.equal(result.status === 'queued' && result.message, 'queued: machine offline')
    const back = new FakeMachine(tb.url('tcp'), SITE, cnc)
    machines.push(back)
    await back.connect()
    await eventually(() => back.received.some(c => c.id === result.command.id), 'the queued command after reconnecting')
  })

  it('refuses unknown machines, actions and bad set-rate values', async () => {
    await assert.rejects(controller.sendCommand('nope', 'stop', undefined, 'x'), { name: 'CommandRequestError', status: 404 })
    await assert.rejects(controller.sendCommand(cnc.id, 'explode', undefined, 'x'), { status: 400, message: /unknown action "explode"/ })
    await assert.rejects(controller.sendCommand(cnc.id, 'set-rate', 500, 'x'), { status: 400, message: /10 to 120/ })
  })

  it('ignores malformed payloads and foreign machines without failing', async () => {
    await tb.broker.publish(machineTopic(addr, 'telemetry'), 'not json')
    await tb.broker.publish(machineTopic(addr, 'state'), JSON.stringify({ state: 'EXPLODED' }))
    await tb.broker.publish(machineTopic({ ...addr, machine: 'intruder' }, 'state'), JSON.stringify({ state: 'FAULT', ts: 1 }))
    await tb.broker.publish(alarmTopic(SITE, 'x'), 'garbage')
    await telemetry(50)
    await eventually(() => controller.status().find(s => s.spec.id === cnc.id)?.state === 'RUNNING', 'the valid telemetry to count')
    assert.deepEqual(controller.alarms(), [])
    assert.deepEqual(tb.logs.find('error', 'failed'), [])
  })
})
