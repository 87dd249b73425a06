import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { connect, eventually, startTestBroker } from '@embedmq/testing'
import { redisPersistence } from '../src/index.js'
import { Cleanup, SHARED_REDIS, connectRecording, deleteKeys, uniquePrefix } from './support.js'

const fixture = fileURLToPath(new URL('./fixtures/crash-broker.js', import.meta.url))

/** Starts the broker child process and resolves to it and its URL. */
export function startChild (keyPrefix: string, heartbeatMs = 60_000): Promise<{ child: ChildProcess, url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, REDIS_PORT: String(SHARED_REDIS.port), KEY_PREFIX: keyPrefix, HEARTBEAT_MS: String(heartbeatMs) }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`broker child did not start within 15 s: ${output}`)) }, 15_000)
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString()
      const match = /listening (\S+)/.exec(output)
      if (match?.[1]) { clearTimeout(timer); resolve({ child, url: match[1] }) }
    })
    child.stderr.on('data', (c: Buffer) => { output += c.toString() })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`broker child exited with ${String(code)}: ${output}`)) })
  })
}

export async function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

describe('persistence-redis crash: SIGKILL after acknowledging', function () {
  this.timeout(60_000)
  const cleanup = new Cleanup()
  const keyPrefix = uniquePrefix('crash')
  after(async () => {
    await cleanup.run()
    await deleteKeys(keyPrefix)
  })

  it('delivers every acknowledged QoS 1 message to the offline persistent subscriber after a restart, in order, once each', async () => {
    const N = 200
    const first = await startChild(keyPrefix)
    cleanup.defer(() => kill(first.child))
    const sub = await connect(first.url, { clientId: 'crash-sub', clean: false })
    await sub.subscribeAsync('crash/#', { qos: 1 })
    await sub.endAsync()

    const pub = await connect(first.url, { clientId: 'crash-pub' })
    // Every PUBACK is awaited: each of these was acknowledged before the kill.
    for (let i = 0; i < N; i++) await pub.publishAsync('crash/seq', String(i), { qos: 1 })
    await kill(first.child)
    pub.end(true)

    const second = await startChild(keyPrefix)
    cleanup.defer(() => kill(second.child))
    const { client: back, got: received } = await connectRecording(second.url, { clientId: 'crash-sub', clean: false })
    cleanup.add(back)
    const got = { get length () { return received.length }, includes: (p: string) => received.some(m => m.payload === p) }
    await eventually(() => got.length >= N, `${N} messages after the restart`, 30_000).catch((err: Error) => { throw new Error(`${err.message}; got ${received.length}`) })
    const pub2 = cleanup.add(await connect(second.url, { clientId: 'crash-pub-2' }))
    await pub2.publishAsync('crash/seq', 'END', { qos: 1 })
    await eventually(() => got.includes('END'), 'END after the replay')
    assert.deepEqual(received.map(m => m.payload), [...Array.from({ length: N }, (_, i) => String(i)), 'END'])
  })

  it('publishes, from a surviving broker, the will of a client whose broker was killed', async function () {
    const prefix = uniquePrefix('will')
    cleanup.defer(() => deleteKeys(prefix))
    const survivor = cleanup.add(await startTestBroker({ allowAnonymous: true, heartbeatIntervalMs: 1000, plugins: [redisPersistence({ ...SHARED_REDIS, keyPrefix: prefix })] }))
    const watcher = cleanup.add(await connect(survivor.url('tcp'), { clientId: 'watcher' }))
    await watcher.subscribeAsync('status/+', { qos: 1 })
    const got: string[] = []
    watcher.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`))

    const doomed = await startChild(prefix, 1000)
    cleanup.defer(() => kill(doomed.child))
    const device = await connect(doomed.url, { clientId: 'device-9', will: { topic: 'status/device-9', payload: Buffer.from('offline'), qos: 1, retain: false } })
    cleanup.add(device)
    await kill(doomed.child)
    // aedes publishes a dead broker's wills once its heartbeats stop for 3 intervals (checked every 4).
    await eventually(() => got.includes('status/device-9=offline'), 'the will from the surviving broker', 20_000)
    assert.deepEqual(got, ['status/device-9=offline'])
  })
})
