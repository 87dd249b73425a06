/**
 * The demo as processes, as a user runs it: `node dist/src/main.js` with the
 * real simulator as its child, and restarts on the same SQLite file.
 */
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { eventually, tempDirs } from '@embedmq/testing'
import { defaultPlant } from '../../src/shared/plant.js'
import { FakeMachine } from './helpers/fake-machine.js'
import { api, login } from './helpers/http.js'
import { startMain, type MainProcess } from './helpers/main-process.js'
import type { MachineStatus } from '../../src/server/controller/controller.js'
import type { ControllerAlarm } from '../../src/server/controller/alarm-book.js'

/** eventually() for checks that have to await. */
async function eventuallyAsync (check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

describe('the demo as processes', function () {
  this.timeout(90_000)
  const dirs = tempDirs('smart-factory-proc-')
  const running: MainProcess[] = []
  const machines: FakeMachine[] = []
  after(async () => {
    await Promise.all(machines.map(m => m.close().catch(() => undefined)))
    await Promise.all(running.map(p => p.stop()))
    await dirs.remove()
  })

  it('npm start runs broker, dashboard and simulator; killing the simulator marks its machines OFFLINE; SIGTERM stops all', async () => {
    const main = await startMain([], { DATA_DIR: await dirs.make() })
    running.push(main)
    const cookie = await login(main.http, 'viewer', 'viewer')
    const states = async (): Promise<string[]> => ((await api(main.http, '/api/machines', { cookie })).body as unknown as MachineStatus[]).map(s => s.state ?? 'none')
    await eventuallyAsync(async () => { const s = await states(); return s.length === 12 && s.every(x => x !== 'none' && x !== 'OFFLINE') }, 'all 12 simulated machines online')

    process.kill(main.simulatorPid!, 'SIGKILL')
    await eventuallyAsync(async () => (await states()).every(x => x === 'OFFLINE'), 'every machine OFFLINE by its last will')
    assert.match(main.output(), /simulator exited \(SIGKILL\)/)

    assert.equal(await main.stop(), 0)
    running.splice(running.indexOf(main), 1)
  })

  it('after a restart on the same data dir: retained states and unacknowledged alarms are back, and a queued command is delivered', async () => {
    const dataDir = await dirs.make()
    const plant = defaultPlant()
    const spec = plant.machines[2]!
    let main = await startMain(['--no-simulator'], { DATA_DIR: dataDir })
    running.push(main)

    // A machine faults (an alarm), then goes away cleanly: its retained state stays FAULT.
    const machine = await new FakeMachine(main.mqtt, plant.site, spec).connect()
    await machine.publishState('FAULT', 'E-99')
    let operator = await login(main.http, 'operator', 'operator')
    await eventuallyAsync(async () => ((await api(main.http, '/api/alarms', { cookie: operator })).body as unknown as ControllerAlarm[]).length === 1, 'the fault alarm')
    await machine.close()
    const queued = await api(main.http, `/api/machines/${spec.id}/commands`, { cookie: operator, method: 'POST', body: { action: 'reset' } })
    assert.equal(queued.status, 202)
    const commandId = (queued.body.command as { id: string }).id

    // Restart the server process.
    assert.equal(await main.stop(), 0)
    running.splice(running.indexOf(main), 1)
    main = await startMain(['--no-simulator'], { DATA_DIR: dataDir })
    running.push(main)

    operator = await login(main.http, 'operator', 'operator')
    const status = (await api(main.http, '/api/machines', { cookie: operator })).body as unknown as MachineStatus[]
    assert.equal(status.find(s => s.spec.id === spec.id)?.state, 'FAULT', 'the retained state is back')
    const alarms = (await api(main.http, '/api/alarms', { cookie: operator })).body as unknown as ControllerAlarm[]
    assert.equal(alarms.length, 1)
    assert.equal(alarms[0]!.machine, spec.id)
    assert.equal(alarms[0]!.acknowledgedBy, undefined)

    // A viewer's MQTT client sees both as retained messages.
    const viewer = await mqtt.connectAsync(main.mqtt, { username: 'viewer', password: 'viewer', reconnectPeriod: 0 })
    const seen: string[] = []
    viewer.on('message', (topic) => seen.push(topic))
    await viewer.subscribeAsync(`factory/${plant.site}/#`, { qos: 1 })
    await eventually(() => seen.includes(`factory/${plant.site}/${spec.line}/${spec.id}/state`) && seen.includes(`factory/${plant.site}/alarms/${alarms[0]!.id}`), 'retained state and alarm over MQTT')
    await viewer.endAsync()

    // The machine comes back: the command queued before the restart is delivered.
    const back = new FakeMachine(main.mqtt, plant.site, spec)
    machines.push(back)
    await back.connect()
    await eventually(() => back.received.some(c => c.id === commandId && c.action === 'reset'), 'the queued reset after the restart', 10_000)
  })

  it('a busy port is a one-line error naming the variable to change', async () => {
    const first = await startMain(['--no-simulator', '--in-memory'], {})
    running.push(first)
    const port = new URL(first.http).port
    const second = await startMain(['--no-simulator', '--in-memory'], { PORT: port }).then(() => 'started', (err: Error) => err.message)
    assert.match(second, new RegExp(`port ${port} is already in use \\(HTTP dashboard and MQTT over WebSocket\\); set PORT to another port`))
    const mqttPort = new URL(first.mqtt).port
    const third = await startMain(['--no-simulator', '--in-memory'], { MQTT_PORT: mqttPort }).then(() => 'started', (err: Error) => err.message)
    assert.match(third, new RegExp(`port ${mqttPort} is already in use \\(MQTT over TCP\\); set MQTT_PORT to another port`))
    assert.equal(alive(first.child.pid!), true)
  })
})
