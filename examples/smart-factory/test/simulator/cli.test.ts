import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { connackCode, eventually } from '@embedmq/testing'
import { defaultPlant, machinePassword } from '../../src/shared/plant.js'
import { Filters, type MachineStateMessage } from '../../src/shared/topics.js'
import { CliError, parseCli } from '../../src/simulator/cli-options.js'
import { retainedByMachine, startFactoryBroker, type FactoryBroker } from './support.js'

const MAIN = fileURLToPath(new URL('../../src/simulator/main.js', import.meta.url))
const plant = defaultPlant()

interface Running {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Runs the simulator CLI as its own process, quiet by chance (no random faults or stops). */
function runCli (args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const base = { ...process.env }
  for (const name of ['MACHINE_SECRET', 'BROKER_URL', 'MQTT_PORT', 'TELEMETRY_INTERVAL_MS', 'SITE', 'LINES', 'FAULT_RATE', 'SEED']) delete base[name]
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString() })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  return { child, stdout: () => out, stderr: () => err, exited }
}

const QUIET = ['--interval', '200', '--fault-rate', '0', '--micro-stop-rate', '0', '--excursion-rate', '0', '--seed', 'cli-test']

async function allRunning (tb: FactoryBroker, run: Running): Promise<void> {
  await eventually(() => plant.machines.every(m => tb.states.get(m.id)?.state === 'RUNNING'),
    `all 12 machines RUNNING (stdout: ${run.stdout()} stderr: ${run.stderr()})`, 20_000)
}

describe('simulator: the CLI as a process', function () {
  let tb: FactoryBroker
  let run: Running | undefined

  beforeEach(async () => { tb = await startFactoryBroker() })
  afterEach(async () => {
    if (run !== undefined && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL')
      await run.exited
    }
    run = undefined
    await tb.stop()
  })

  it('prints one line per connected machine; when the process is killed, every machine\'s last will marks it OFFLINE', async () => {
    run = runCli(['--broker', tb.url('tcp'), ...QUIET])
    await allRunning(tb, run)
    await eventually(() => plant.machines.every(m => run?.stdout().includes(`${m.id}: connected to ${tb.url('tcp')}`)), 'a connect line per machine')
    run.child.kill('SIGKILL')
    assert.equal((await run.exited).signal, 'SIGKILL')
    await eventually(() => plant.machines.every(m => tb.states.get(m.id)?.state === 'OFFLINE'), 'every will published', 10_000)
    const retained = await retainedByMachine<MachineStateMessage>(tb, Filters.machineChannel(plant.site, 'state'))
    assert.equal(retained.size, 12)
    for (const m of plant.machines) {
      assert.equal(retained.get(m.id)?.state, 'OFFLINE', m.id)
      assert.equal(retained.get(m.id)?.reason, 'connection lost', m.id)
    }
  })

  it('SIGTERM stops cleanly: every retained state OFFLINE "simulator stopped", exit code 0', async () => {
    run = runCli(['--broker', tb.url('tcp'), ...QUIET])
    await allRunning(tb, run)
    run.child.kill('SIGTERM')
    assert.deepEqual(await run.exited, { code: 0, signal: null })
    const retained = await retainedByMachine<MachineStateMessage>(tb, Filters.machineChannel(plant.site, 'state'))
    for (const m of plant.machines) {
      assert.equal(retained.get(m.id)?.state, 'OFFLINE', m.id)
      assert.equal(retained.get(m.id)?.reason, 'simulator stopped', m.id)
    }
    assert.match(run.stdout(), /simulator: stopped/)
    assert.doesNotMatch(run.stderr(), /WARN|ERROR/, 'a clean run logs no warnings')
  })

  it('with no broker listening it logs why and retries, and still stops cleanly', async () => {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    await new Promise(resolve => server.close(resolve))
    run = runCli([...QUIET, '--lines', '1'], { MQTT_PORT: String(port) })
    await eventually(() => (run?.stderr().match(/cannot reach the broker \(ECONNREFUSED\)/g) ?? []).length === 6,
      `a retry line per machine (stderr: ${run?.stderr()})`, 10_000)
    assert.match(run.stderr(), new RegExp(`cnc-02: mqtt://127\\.0\\.0\\.1:${port}: cannot reach the broker \\(ECONNREFUSED\\): nothing is listening there — is the broker running, and on this port\\?; retrying every 2 s`))
    assert.equal(run.child.exitCode, null, 'still running')
    run.child.kill('SIGINT')
    assert.deepEqual(await run.exited, { code: 0, signal: null })
  })

  it('--print-credentials prints each machine\'s username and password, which the broker accepts', async () => {
    run = runCli(['--print-credentials'])
    assert.deepEqual(await run.exited, { code: 0, signal: null })
    const rows = run.stdout().split('\n').filter(l => l !== '' && !l.startsWith('#')).map(l => l.split('\t'))
    assert.equal(rows.length, 12)
    for (const [id, line, kind, username, password, prefix] of rows) {
      const m = plant.machines.find(p => p.id === id)
      assert.ok(m, id)
      assert.deepEqual([line, kind, username, password, prefix], [m.line, m.kind, m.id, machinePassword(m.id), `factory/berlin/${m.line}/${m.id}/`])
    }
    const [id, , , username, password] = rows[1] as string[]
    assert.equal(await connackCode(tb.url('tcp'), { clientId: id, username, password }), 0)
  })

  it('--print-credentials follows MACHINE_SECRET', async () => {
    run = runCli(['--print-credentials', '--lines', '1'], { MACHINE_SECRET: 'plant-7' })
    await run.exited
    assert.match(run.stdout(), /MACHINE_SECRET from the environment/)
    assert.ok(run.stdout().includes(`cnc-02\tline1\tcnc-mill\tcnc-02\t${machinePassword('cnc-02', 'plant-7')}\t`))
  })

  it('a bad option exits 2 with the reason and the usage', async () => {
    run = runCli(['--interval', 'soon'])
    assert.deepEqual(await run.exited, { code: 2, signal: null })
    assert.match(run.stderr(), /--interval=soon: expected a whole number/)
    assert.match(run.stderr(), /Usage:/)
  })
})

describe('simulator: CLI options', () => {
  it('defaults: local broker on 1883, berlin, 2 lines, 1 s telemetry', () => {
    const cli = parseCli([], {})
    assert.equal(cli.command, 'run')
    assert.deepEqual(cli.command === 'run' && cli.options, {
      brokerUrl: 'mqtt://127.0.0.1:1883', site: 'berlin', lines: 2, telemetryIntervalMs: 1000,
      faultRate: 0.5, microStopRate: 4, excursionRate: 3, autoRecoverMs: 90_000, seed: undefined
    })
  })

  it('environment, then flags on top', () => {
    const env = { MQTT_PORT: '1999', TELEMETRY_INTERVAL_MS: '500', SITE: 'porto', SEED: 's' }
    const fromEnv = parseCli([], env)
    assert.ok(fromEnv.command === 'run')
    assert.equal(fromEnv.options.brokerUrl, 'mqtt://127.0.0.1:1999')
    assert.equal(fromEnv.options.telemetryIntervalMs, 500)
    assert.equal(fromEnv.options.site, 'porto')
    assert.equal(fromEnv.options.seed, 's')
    const flags = parseCli(['--broker', 'mqtt://plant.example:1883', '--interval', '250', '--auto-recover', '0'], { ...env, BROKER_URL: 'mqtt://other:1' })
    assert.ok(flags.command === 'run')
    assert.equal(flags.options.brokerUrl, 'mqtt://plant.example:1883')
    assert.equal(flags.options.telemetryIntervalMs, 250)
    assert.equal(flags.options.autoRecoverMs, 0)
    assert.equal((parseCli([], { BROKER_URL: 'mqtt://other:1' }) as { options: { brokerUrl: string } }).options.brokerUrl, 'mqtt://other:1')
  })

  it('refuses what it cannot use, saying what it expected', () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['--lines', '0'], {}, /--lines=0: expected a whole number from 1 to 50/],
      [['--fault-rate=-1'], {}, /--fault-rate=-1: expected a number ≥ 0/],
      [['--broker', 'http://x'], {}, /unsupported scheme http:/],
      [['--broker', 'nope'], {}, /is not a URL/],
      [['--site', 'a/b'], {}, /topic level/],
      [['--bogus'], {}, /bogus/],
      [[], { MQTT_PORT: '70000' }, /MQTT_PORT=70000/]
    ]
    for (const [argv, env, message] of cases) {
      assert.throws(() => parseCli(argv, env), (err: unknown) => err instanceof CliError && message.test(err.message), argv.join(' '))
    }
  })
})
