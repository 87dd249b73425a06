import { strict as assert } from 'node:assert'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, eventually } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { connectRecording, publishAcked, range, tempDirs } from './support.js'

const BROKER = fileURLToPath(new URL('./fixtures/crash-broker.js', import.meta.url))
const N = 200

/** Forks a broker on `file`; resolves with the child and its port, or fails within 15 s. */
async function forkBroker (file: string): Promise<{ child: ChildProcess, port: number }> {
  const child = fork(BROKER, [file], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the broker did not start within 15 s: ${stderr}`)) }, 15_000)
    child.once('message', (m: { port: number }) => { clearTimeout(timer); resolve(m.port) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the broker exited with ${String(code)}: ${stderr}`)) })
  })
  return { child, port }
}

describe('persistence-sqlite crash safety', function () {
  this.timeout(60_000)
  const temp = tempDirs()
  const children: ChildProcess[] = []
  const clients: mqtt.MqttClient[] = []

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await once(child, 'exit')
      }
    }
  })
  after(() => temp.remove())

  it(`every acknowledged QoS 1 publish (${N}) for an offline session survives SIGKILL, delivered in order, once each`, async () => {
    const file = join(await temp.make(), 'crash.db')
    const first = await forkBroker(file)
    children.push(first.child)
    const url = (port: number): string => `mqtt://127.0.0.1:${port}`

    const sub = await connect(url(first.port), { clientId: 'crash-sub', clean: false })
    await sub.subscribeAsync('crash/t', { qos: 1 })
    await sub.endAsync()

    const pub = await connect(url(first.port), { clientId: 'crash-pub' })
    clients.push(pub)
    await publishAcked(pub, 'crash/t', range(N))

    // No graceful close: the process dies with whatever it had not written.
    first.child.kill('SIGKILL')
    await once(first.child, 'exit')
    await pub.endAsync(true)

    const second = await forkBroker(file)
    children.push(second.child)
    const back = await connectRecording(url(second.port), { clientId: 'crash-sub', clean: false })
    clients.push(back.client)
    assert.equal(back.sessionPresent, true, 'the session survived')
    await eventually(() => back.received.length >= N, `${N} messages`, 20_000)
    // A marker published now arrives after any duplicate the broker might still send.
    await publishAcked(back.client, 'crash/t', ['marker'])
    await eventually(() => back.received.some(m => m.payload === 'marker'), 'the marker', 10_000)
    assert.deepEqual(back.received.map(m => m.payload), [...range(N), 'marker'])
  })
})
