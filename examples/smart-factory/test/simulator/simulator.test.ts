import assert from 'node:assert/strict'
import { MemoryLogger } from '@embedmq/core'
import { connect, eventually } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { defaultPlant } from '../../src/shared/plant.js'
import { Filters, machineTopic, parseJson, parseMachineTopic, type Command, type CommandAck, type MachineInfo, type MachineStateMessage, type Telemetry } from '../../src/shared/topics.js'
import { startSimulator, type SimulatorHandle } from '../../src/simulator/simulator.js'
import { OBSERVER, retainedByMachine, startFactoryBroker, type FactoryBroker } from './support.js'

const plant = defaultPlant()
const SITE = plant.site

function machine (id: string): { site: string, line: string, machine: string } {
  const spec = plant.machines.find(m => m.id === id)
  assert.ok(spec, id)
  return { site: SITE, line: spec.line, machine: id }
}

interface Received { topic: string, machine: string | undefined, body: unknown }

/** Collects everything a client receives, parsed, to assert on with eventually(). */
function recorder (client: mqtt.MqttClient): Received[] {
  const got: Received[] = []
  client.on('message', (topic, payload) => got.push({ topic, machine: parseMachineTopic(topic)?.address.machine, body: parseJson(payload) }))
  return got
}

describe('simulator: machines on a real broker', function () {
  let tb: FactoryBroker
  let sim: SimulatorHandle
  let logs: MemoryLogger
  let observer: mqtt.MqttClient
  /** Everything the observer received. */
  let seen: Received[]
  /** What the observer received on one machine's channel. */
  const on = (id: string, channel: string): unknown[] => seen.filter(g => g.topic === machineTopic(machine(id), channel as 'state')).map(g => g.body)

  before(async () => {
    tb = await startFactoryBroker()
    logs = new MemoryLogger()
    sim = startSimulator({
      brokerUrl: tb.url('tcp'),
      plant,
      telemetryIntervalMs: 200,
      seed: 1,
      faultRate: 0,
      microStopRate: 0,
      excursionRate: 0,
      autoRecoverMs: 0,
      reconnectPeriodMs: 200,
      logger: logs
    })
    await eventually(() => sim.machines().every(m => m.connected), 'all 12 machines connected', 15_000)
    observer = await connect(tb.url('tcp'), { ...OBSERVER, clientId: 'observer' })
    seen = recorder(observer)
  })

  after(async () => {
    observer?.end(true)
    await sim?.stop()
    await tb?.stop()
  })

  async function command (id: string, body: Partial<Command> & { id: string }): Promise<CommandAck> {
    await observer.subscribeAsync(machineTopic(machine(id), 'cmd/ack'), { qos: 1 })
    await observer.publishAsync(machineTopic(machine(id), 'cmd'), JSON.stringify({ ts: Date.now(), by: 'observer', ...body }), { qos: 1 })
    let ack: CommandAck | undefined
    await eventually(() => {
      ack = (on(id, 'cmd/ack') as CommandAck[]).find(a => a.id === body.id)
      return ack !== undefined
    }, `${id} acks ${body.id}`)
    return ack as CommandAck
  }

  it('each machine logged one line when it connected, with its line and kind', () => {
    for (const m of plant.machines) {
      assert.equal(logs.find('info', `${m.id}: connected to ${tb.url('tcp')} (${m.line}, ${m.kind}, RUNNING)`).length, 1, m.id)
    }
  })

  it('a newcomer gets the retained state and info of all 12 machines, and telemetry flows', async () => {
    const client = await connect(tb.url('tcp'), { ...OBSERVER, clientId: 'newcomer' })
    try {
      const got = recorder(client)
      await client.subscribeAsync([Filters.machineChannel(SITE, 'state'), Filters.machineChannel(SITE, 'info'), Filters.machineChannel(SITE, 'telemetry')], { qos: 1 })
      const machines = (channel: string): Set<string | undefined> => new Set(got.filter(g => g.topic.endsWith(`/${channel}`)).map(g => g.machine))
      await eventually(() => machines('state').size === 12 && machines('info').size === 12 && machines('telemetry').size === 12,
        'state, info and telemetry from every machine')
      for (const m of plant.machines) {
        const state = got.find(g => g.machine === m.id && g.topic.endsWith('/state'))?.body as MachineStateMessage
        assert.equal(state.state, 'RUNNING', m.id)
        const info = got.find(g => g.machine === m.id && g.topic.endsWith('/info'))?.body as MachineInfo
        assert.deepEqual(info, { machine: m.id, line: m.line, site: SITE, kind: m.kind, name: m.name, idealPartsPerMinute: m.idealPartsPerMinute })
        const t = got.find(g => g.machine === m.id && g.topic.endsWith('/telemetry'))?.body as Telemetry
        assert.equal(t.state, 'RUNNING')
        assert.equal(t.ratePercent, 100)
        assert.ok(t.scrapCount <= t.partCount)
        assert.equal(typeof t.temperature, 'number')
        assert.equal(typeof t.vibration, 'number')
        if (m.kind === 'cnc-mill') assert.equal(typeof t.spindleSpeed, 'number', m.id)
        else assert.equal(typeof t.cycleTime, 'number', m.id)
      }
      // Retained for a newcomer: info and state are, telemetry is not.
      assert.equal((await retainedByMachine(tb, Filters.machineChannel(SITE, 'state'))).size, 12)
      assert.equal((await retainedByMachine(tb, Filters.machineChannel(SITE, 'info'))).size, 12)
      assert.equal((await retainedByMachine(tb, Filters.machineChannel(SITE, 'telemetry'))).size, 0)
    } finally {
      client.end(true)
    }
  })

  it('stop is acked with the same id and the retained state becomes IDLE; start brings it back', async () => {
    const ack = await command('cnc-02', { id: 'stop-1', action: 'stop' })
    assert.equal(ack.ok, true)
    assert.equal(ack.state, 'IDLE')
    const retained = await retainedByMachine<MachineStateMessage>(tb, machineTopic(machine('cnc-02'), 'state'))
    assert.equal(retained.get('cnc-02')?.state, 'IDLE')
    assert.equal(retained.get('cnc-02')?.reason, 'stopped by observer')
    const start = await command('cnc-02', { id: 'start-1', action: 'start' })
    assert.deepEqual([start.ok, start.state], [true, 'RUNNING'])
    assert.equal(tb.states.get('cnc-02')?.state, 'RUNNING')
  })

  it('start in FAULT is refused with a reason; reset and start recover, and the fault raised an alarm', async () => {
    await observer.subscribeAsync(machineTopic(machine('press-04'), 'alarm'), { qos: 1 })
    assert.equal((await command('press-04', { id: 'f-1', action: 'fault' })).state, 'FAULT')
    const refused = await command('press-04', { id: 'f-2', action: 'start' })
    assert.deepEqual([refused.ok, refused.state], [false, 'FAULT'])
    assert.match(refused.error ?? '', /reset first/)
    await eventually(() => on('press-04', 'alarm').length === 1, 'an alarm from press-04')
    assert.match(tb.states.get('press-04')?.reason ?? '', /^[A-Z_]+$/, 'the state reason is the fault code')
    assert.equal((await command('press-04', { id: 'f-3', action: 'reset' })).state, 'IDLE')
    assert.equal((await command('press-04', { id: 'f-4', action: 'start' })).state, 'RUNNING')
  })

  it('set-rate changes the ratePercent in telemetry', async () => {
    const ack = await command('conv-01', { id: 'rate-1', action: 'set-rate', value: 60 })
    assert.equal(ack.ok, true)
    await observer.subscribeAsync(machineTopic(machine('conv-01'), 'telemetry'))
    await eventually(() => (on('conv-01', 'telemetry') as Telemetry[]).some(t => t.ratePercent === 60), 'telemetry at 60 %')
  })

  it('an invalid command gets a refusal (when its id is readable) and a log line; the machine keeps running', async () => {
    await observer.publishAsync(machineTopic(machine('robot-05'), 'cmd'), 'not json at all', { qos: 1 })
    await eventually(() => logs.find('warn', 'robot-05: ignored a command it cannot answer (no readable id)').length === 1, 'a log line for the unreadable command')
    const ack = await command('robot-05', { id: 'bad-1', action: 'explode' as Command['action'] })
    assert.equal(ack.ok, false)
    assert.equal(ack.state, 'RUNNING')
    assert.match(ack.error ?? '', /invalid command: action/)
    assert.equal(logs.find('warn', 'robot-05: refused command bad-1: invalid command').length, 1)
    const status = sim.machines().find(m => m.id === 'robot-05')
    assert.equal(status?.state, 'RUNNING')
    assert.equal(status?.connected, true)
    await observer.subscribeAsync(machineTopic(machine('robot-05'), 'telemetry'))
    const before = on('robot-05', 'telemetry').length
    await eventually(() => on('robot-05', 'telemetry').length > before + 2, 'robot-05 still sends telemetry')
  })

  it('a QoS 1 command sent while a machine is offline is delivered and acked when it reconnects', async () => {
    const id = 'cnc-09'
    const acks = (): CommandAck[] => on(id, 'cmd/ack') as CommandAck[]
    await observer.subscribeAsync(machineTopic(machine(id), 'cmd/ack'), { qos: 1 })
    tb.refused.add(id)
    assert.equal(await tb.broker.disconnect(id), true)
    await eventually(() => tb.states.get(id)?.state === 'OFFLINE', `${id}'s will marks it OFFLINE`)
    assert.equal(tb.states.get(id)?.reason, 'connection lost')
    await eventually(() => logs.find('warn', `${id}: ${tb.url('tcp')}: broker refused the connection: not authorized`).length > 0, `${id} tries to come back and is refused`)
    assert.equal(tb.broker.clients().some(c => c.id === id), false)

    await observer.publishAsync(machineTopic(machine(id), 'cmd'), JSON.stringify({ id: 'while-away', action: 'stop', by: 'observer', ts: Date.now() }), { qos: 1 })
    assert.deepEqual(acks(), [])
    tb.refused.delete(id)
    await eventually(() => acks().length > 0, 'the ack once the machine is back', 10_000)
    assert.deepEqual(acks().map(a => [a.id, a.ok, a.state]), [['while-away', true, 'IDLE']])
    assert.equal(logs.find('info', `${id}: reconnected to ${tb.url('tcp')}`).filter(e => e.msg.includes('session resumed')).length, 1)
    await eventually(() => tb.states.get(id)?.state === 'IDLE', `${id}'s retained state is IDLE again`)
  })

  it('a machine with the wrong secret logs a refusal that says what to check, and keeps retrying', async () => {
    const one = { ...plant, machines: plant.machines.slice(0, 1).map(m => ({ ...m, id: 'cnc-99' })) }
    const wrongLogs = new MemoryLogger()
    let refusals = 0
    const count = (info: { clientId: string }): void => { if (info.clientId === 'cnc-99') refusals++ }
    tb.broker.on('connectionRefused', count)
    const wrong = startSimulator({ brokerUrl: tb.url('tcp'), plant: one, machineSecret: 'not-the-secret', reconnectPeriodMs: 100, logger: wrongLogs, faultRate: 0 })
    try {
      await eventually(() => refusals >= 4, 'the broker refusing cnc-99 a few times')
      // Retries continue, but the same failure is logged once, not on every attempt.
      assert.deepEqual(wrongLogs.entries.filter(e => e.level === 'warn').map(e => e.msg), [
        `cnc-99: ${tb.url('tcp')}: broker refused the connection: bad username or password — is MACHINE_SECRET the same on both sides?; retrying every 0.1 s`
      ])
      assert.equal(wrong.machines()[0]?.connected, false)
    } finally {
      tb.broker.off('connectionRefused', count)
      await wrong.stop()
    }
  })
})
