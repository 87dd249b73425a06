import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually, tempDirs } from '@embedmq/testing'
import mqtt from 'mqtt'

const dist = join(fileURLToPath(import.meta.url), '..', '..', 'src')

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/** Runs one of the demo's processes; resolves once it printed `ready`. */
async function run (script: string, env: Record<string, string>, ready: string): Promise<{ child: ChildProcess, output: () => string }> {
  const child = spawn(process.execPath, [join(dist, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
  await eventually(() => output.includes(ready) || child.exitCode !== null, `${script} to print "${ready}"`, 15_000)
  if (!output.includes(ready)) throw new Error(`${script} exited: ${output}`)
  return { child, output: () => output }
}

async function stop (child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill(signal)
  await exited
}

describe('examples/edge-to-cloud: two processes, telemetry up, commands down', function () {
  this.timeout(90_000)
  const dirs = tempDirs('embedmq-edge-to-cloud-')
  let central: ChildProcess | undefined
  let edge: ChildProcess | undefined
  afterEach(async () => { await stop(edge); await stop(central) })
  after(() => dirs.remove())

  it('loses no QoS 1 telemetry when the central broker is killed and restarted, and carries commands down and acks up', async () => {
    const dir = await dirs.make()
    const centralPort = await freePort()
    const centralEnv = { CENTRAL_PORT: String(centralPort), CENTRAL_DB: join(dir, 'central.db'), COMMAND_EVERY_MS: '0' }
    central = (await run('central.js', centralEnv, 'central: listening')).child
    // A consumer with a persistent session at the central broker: what it must not miss.
    const seen = new Map<string, number[]>()
    const acks: string[] = []
    const consumer = mqtt.connect(`mqtt://127.0.0.1:${centralPort}`, { clientId: 'cloud-consumer', clean: false, reconnectPeriod: 200 })
    consumer.on('message', (topic, payload) => {
      const [, , , machine, kind] = topic.split('/')
      if (kind === 'ack') { acks.push(payload.toString()); return }
      const list = seen.get(machine!) ?? []
      list.push((JSON.parse(payload.toString()) as { seq: number }).seq)
      seen.set(machine!, list)
    })
    await new Promise(resolve => consumer.once('connect', resolve))
    await consumer.subscribeAsync('sites/berlin/line1/#', { qos: 1 })

    const edgeRun = await run('edge.js', { CENTRAL_PORT: String(centralPort), EDGE_PORT: String(await freePort()), EDGE_DB: join(dir, 'edge.db'), TELEMETRY_EVERY_MS: '50' }, 'bridged to')
    edge = edgeRun.child
    await eventually(() => (seen.get('press-1')?.length ?? 0) >= 10, 'telemetry at the central broker', 15_000)

    // Commands down, acks up.
    const operator = await mqtt.connectAsync(`mqtt://127.0.0.1:${centralPort}`)
    await operator.publishAsync('sites/berlin/cmd/press-1', JSON.stringify({ action: 'stop' }), { qos: 1 })
    await eventually(() => acks.some(a => a.includes('"action":"stop"')), 'the edge acknowledges the command')
    await operator.endAsync()

    // The central broker dies hard; telemetry goes on at the edge meanwhile.
    await stop(central, 'SIGKILL')
    const beforeRestart = Math.max(...(seen.get('press-1') ?? [0]))
    await eventually(() => edgeRun.output().includes('disconnected'), 'the edge notices', 15_000)
    await new Promise(resolve => setTimeout(resolve, 1000)) // ~20 messages per machine published while it is down
    central = (await run('central.js', centralEnv, 'central: listening')).child
    await eventually(() => (seen.get('press-1')?.length ?? 0) > 0 && Math.max(...seen.get('press-1')!) > beforeRestart + 30, 'telemetry after the restart', 30_000)

    // The backlog is replayed while new telemetry flows, so it may arrive after newer messages: wait for every gap to fill.
    const missing = (): Record<string, number[]> => Object.fromEntries([...seen].map(([machine, seqs]) => {
      const distinct = new Set(seqs)
      return [machine, Array.from({ length: Math.max(...seqs) }, (_, i) => i + 1).filter(n => !distinct.has(n))]
    }))
    await eventually(() => Object.values(missing()).every(gaps => gaps.length === 0), 'every sequence number up to the newest', 30_000)
      .catch(() => undefined)
    assert.deepEqual(missing(), Object.fromEntries([...seen.keys()].map(m => [m, []])), 'no QoS 1 telemetry lost')
    consumer.end(true)
  })
})
