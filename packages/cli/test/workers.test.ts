import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { canBind, closeClients, connectClient, freePort, nextMessage, occupyPort } from './support/net.js'
import { CliProcess, killAll } from './support/process.js'
import { countKeys, deleteKeys, REDIS_URL, redisAvailable } from './support/redis.js'

// `embedmq start --workers N`: a node:cluster primary and N broker workers on the same ports,
// sharing Redis (@embedmq/persistence-redis). Needs Redis on 127.0.0.1:6379.

const STARTUP_MS = 20_000

/** Whether a process with this pid still exists. */
function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Worker number of the connection a client id landed on, from the worker's debug "client connected" line. */
function workerOf (cli: CliProcess, clientId: string): Promise<number> {
  return cli.waitForLog(`"client connected" for ${clientId}`, l => l.msg === 'client connected' && l.clientId === clientId)
    .then(l => Number(l.worker))
}

describe('embedmq start --workers (spawned, Redis)', function () {
  this.timeout(60_000)
  let dir: string
  let prefix: string

  before(async function () {
    if (!await redisAvailable()) throw new Error(`these tests need Redis at ${REDIS_URL}`)
    dir = await mkdtemp(join(tmpdir(), 'embedmq-cli-workers-'))
    prefix = `embedmq-cli-workers-${process.pid}-${Date.now()}:`
  })
  afterEach(async () => {
    await closeClients()
    await killAll()
  })
  after(async () => {
    if (prefix !== undefined) await deleteKeys(prefix)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  async function redisConfig (name: string, keyPrefix: string): Promise<string> {
    const file = join(dir, `${name}.yaml`)
    await writeFile(file, [
      'allowAnonymous: true',
      'logLevel: debug',
      'plugins:',
      "  - module: '@embedmq/persistence-redis'",
      `    options: { url: '${REDIS_URL}', keyPrefix: '${keyPrefix}' }`,
      ''
    ].join('\n'))
    return file
  }

  async function startWorkers (name: string, workers: number): Promise<{ cli: CliProcess, port: number, wsPort: number, pids: number[] }> {
    const file = await redisConfig(name, `${prefix}${name}:`)
    const [port, wsPort] = [await freePort(), await freePort()]
    const cli = new CliProcess(['start', '--workers', String(workers), '-c', file, '--port', String(port), '--ws-port', String(wsPort)])
    const running = await cli.waitForLog('the primary\'s "embedmq is running with … workers"', l => l.msg.startsWith(`embedmq is running with ${workers} workers`), STARTUP_MS)
    const pids = running.workerPids as number[]
    assert.equal(pids.length, workers, cli.transcript())
    return { cli, port, wsPort, pids }
  }

  it('spreads clients over 3 workers that deliver every message once to every matching subscriber, share retained messages, and all stop on SIGTERM', async () => {
    const { cli, port, wsPort, pids } = await startWorkers('cluster', 3)

    // Every log line of a worker is tagged with its number; each worker is a broker with an id of its own.
    // (Workers write to the same stdout as the primary, so their lines may come after its "running" line.)
    for (const n of [1, 2, 3]) await cli.waitForLog(`worker ${n} is running`, l => l.msg === `worker ${n} is running` && l.worker === n)
    await cli.waitFor('three "listening on mqtt:" lines', () => cli.logs.filter(l => l.msg.startsWith('listening on mqtt:')).length === 3 ? true : undefined)
    const brokerIds = new Set(cli.logs.filter(l => l.msg.startsWith('listening on mqtt:')).map(l => l.broker))
    assert.equal(brokerIds.size, 3, `three distinct broker ids expected\n${cli.transcript()}`)
    assert.equal(cli.logs.filter(l => l.worker !== undefined).every(l => [1, 2, 3].includes(Number(l.worker))), true)

    // Nine connections, TCP and WebSocket; the primary hands them out round-robin.
    const ids = Array.from({ length: 9 }, (_, i) => `w-client-${i}`)
    const clients: MqttClient[] = []
    for (const [i, clientId] of ids.entries()) {
      const url = i % 3 === 2 ? `ws://127.0.0.1:${wsPort}/mqtt` : `mqtt://127.0.0.1:${port}`
      clients.push(await connectClient(url, { clientId }))
    }
    const workerOfClient = await Promise.all(ids.map(id => workerOf(cli, id)))
    assert.equal(new Set(workerOfClient).size, 3, `connections should land on all 3 workers: ${JSON.stringify(workerOfClient)}`)

    // Subscribers on every worker, with different filters: even clients 'w/+/a', odd 'w/#'; client 4 and 8 also 'w/+/b'.
    const filters = ids.map((_, i) => [i % 2 === 0 ? 'w/+/a' : 'w/#', ...(i % 4 === 0 && i > 0 ? ['w/+/b'] : [])])
    const received = ids.map(() => [] as string[])
    for (const [i, client] of clients.entries()) {
      client.on('message', (topic, payload) => { if (topic.startsWith('w/')) received[i]?.push(payload.toString()) })
      for (const filter of filters[i] ?? []) await client.subscribeAsync(filter, { qos: 1 })
    }

    // Every client publishes 4 messages on each of w/<id>/a and w/<id>/b, QoS 0 and 1.
    const PER_TOPIC = 4
    const published: Array<{ topic: string, payload: string }> = []
    await Promise.all(clients.map(async (client, i) => {
      for (let seq = 0; seq < PER_TOPIC; seq++) {
        for (const kind of ['a', 'b']) {
          const topic = `w/${ids[i] ?? ''}/${kind}`
          const payload = `${topic}#${seq}`
          published.push({ topic, payload })
          await client.publishAsync(topic, payload, { qos: seq % 2 === 0 ? 1 : 0 })
        }
      }
    }))

    const matches = (filter: string, topic: string): boolean =>
      filter === 'w/#' || (filter.startsWith('w/+/') && topic.split('/')[2] === filter.split('/')[2])
    const expected = filters.map(fs => published.filter(p => fs.some(f => matches(f, p.topic))).map(p => p.payload).sort())
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && received.some((r, i) => r.length < (expected[i]?.length ?? 0))) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    await new Promise(resolve => setTimeout(resolve, 500)) // room for duplicates to show up
    for (const [i, got] of received.entries()) {
      assert.deepEqual([...got].sort(), expected[i], `client ${ids[i] ?? ''} (worker ${workerOfClient[i] ?? '?'}, filters ${JSON.stringify(filters[i])}): each matching message exactly once`)
    }

    // A retained message set through one connection is seen by new subscribers wherever they land.
    const [setter] = clients
    assert.ok(setter)
    await setter.publishAsync('r/state', 'on', { qos: 1, retain: true })
    const setterWorker = workerOfClient[0]
    const lateIds = ['w-late-0', 'w-late-1', 'w-late-2']
    const lateWorkers: number[] = []
    for (const [i, clientId] of lateIds.entries()) {
      const late = await connectClient(i === 1 ? `ws://127.0.0.1:${wsPort}/mqtt` : `mqtt://127.0.0.1:${port}`, { clientId })
      lateWorkers.push(await workerOf(cli, clientId))
      const first = new Promise<{ payload: string, retain: boolean }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${clientId} got no retained message on r/state`)), 10_000)
        late.once('message', (topic, payload, packet) => {
          clearTimeout(timer)
          resolve({ payload: `${topic}=${payload.toString()}`, retain: packet.retain })
        })
      })
      await late.subscribeAsync('r/#', { qos: 1 })
      assert.deepEqual(await first, { payload: 'r/state=on', retain: true }, `${clientId} should get r/state with the retain flag`)
    }
    assert.ok(lateWorkers.some(w => w !== setterWorker), `a late subscriber should be on another worker than the setter (${setterWorker ?? '?'}): ${JSON.stringify(lateWorkers)}`)
    // And a live subscriber on another worker sees updates.
    const other = clients.findIndex((_, i) => workerOfClient[i] !== setterWorker)
    const otherClient = clients[other]
    assert.ok(otherClient)
    const update = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no update of r/state on another worker')), 10_000)
      otherClient.on('message', (topic, payload, packet) => {
        if (topic === 'r/state' && !packet.retain) { clearTimeout(timer); resolve(payload.toString()) }
      })
    })
    await otherClient.subscribeAsync('r/state', { qos: 1 })
    await setter.publishAsync('r/state', 'off', { qos: 1, retain: true })
    assert.equal(await update, 'off')

    // SIGTERM to the primary: every worker stops its broker, the primary exits 0, the ports are free.
    cli.signal('SIGTERM')
    assert.deepEqual(await cli.waitForExit(STARTUP_MS), { code: 0, signal: null }, cli.transcript())
    for (const n of [1, 2, 3]) {
      assert.ok(cli.logs.some(l => l.worker === n && l.msg === 'broker stopped'), `worker ${n} should stop its broker\n${cli.transcript()}`)
    }
    assert.ok(cli.logs.some(l => l.msg === 'all workers stopped'), cli.transcript())
    for (const pid of pids) assert.equal(alive(pid), false, `worker pid ${pid} should be gone`)
    assert.equal(await canBind(port), true, `tcp port ${port} should be free after exit`)
    assert.equal(await canBind(wsPort), true, `ws port ${wsPort} should be free after exit`)
    assert.ok(await countKeys(`${prefix}cluster:`) > 0, 'the workers stored their state in Redis under the test\'s prefix')
  })

  it('restarts a worker that dies, logging it, and keeps serving', async () => {
    const { cli, port, pids } = await startWorkers('restart', 2)
    const victim = pids[1]
    assert.ok(victim !== undefined)
    process.kill(victim, 'SIGKILL')
    const crash = await cli.waitForLog('the primary logging the crash', l => l.level === 50 && /exited unexpectedly/.test(l.msg))
    assert.equal(crash.signal, 'SIGKILL')
    assert.equal(crash.workerPid, victim)
    assert.equal(typeof crash.restartInMs, 'number')
    const restarted = await cli.waitForLog('the worker restarted', l => l.msg.startsWith(`worker ${String(crash.worker)} restarted`), STARTUP_MS)
    assert.notEqual(restarted.workerPid, victim)

    // Both workers serve: connections round-robin over them, and messages cross between them.
    const a = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: 'restart-a' })
    const b = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: 'restart-b' })
    assert.notEqual(await workerOf(cli, 'restart-a'), await workerOf(cli, 'restart-b'))
    await b.subscribeAsync('x/y', { qos: 1 })
    const got = nextMessage(b, 'x/y')
    await a.publishAsync('x/y', 'across', { qos: 1 })
    assert.equal(await got, 'across')

    cli.signal('SIGTERM')
    assert.deepEqual(await cli.waitForExit(STARTUP_MS), { code: 0, signal: null }, cli.transcript())
  })

  it('exits 1 with the worker\'s one error line, without a restart loop, when a port is in use', async () => {
    const held = await occupyPort()
    try {
      const file = await redisConfig('in-use', `${prefix}in-use:`)
      const cli = new CliProcess(['start', '--workers', '3', '-c', file, '--port', String(held.port), '--ws-port', String(await freePort())])
      assert.deepEqual(await cli.waitForExit(STARTUP_MS), { code: 1, signal: null }, cli.transcript())
      const lines = cli.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 1, `stderr should be one line\n${cli.transcript()}`)
      assert.match(lines[0] ?? '', new RegExp(`port ${held.port} is already in use.*EMBEDMQ_LISTEN_ADDRESS_IN_USE`))
      assert.ok(cli.logs.some(l => l.role === 'primary' && /worker 1 exited \(code 1\) before it was running/.test(l.msg)), cli.transcript())
      assert.equal(cli.logs.some(l => l.worker === 2 || l.worker === 3), false, 'only worker 1 was started')
    } finally {
      await held.close()
    }
  })

  it('refuses --workers 2 or more without a shared store, in one line, before forking', async () => {
    const [port, wsPort] = [await freePort(), await freePort()]
    const cli = new CliProcess(['start', '--workers', '3', '--port', String(port), '--ws-port', String(wsPort)])
    assert.deepEqual(await cli.waitForExit(), { code: 1, signal: null }, cli.transcript())
    const lines = cli.stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, `stderr should be one line\n${cli.transcript()}`)
    assert.match(lines[0] ?? '', /--workers 3 needs a shared store/)
    assert.match(lines[0] ?? '', /cannot be shared between processes/)
    assert.match(lines[0] ?? '', /@embedmq\/persistence-redis/)
    assert.equal(cli.logs.length, 0, 'nothing was started')
  })

  it('refuses a port the OS would choose (--port 0, or port: 0 in the file) with a usage error', async () => {
    const flag = new CliProcess(['start', '--workers', '2', '--port', '0'])
    assert.deepEqual(await flag.waitForExit(), { code: 2, signal: null }, flag.transcript())
    assert.match(flag.stderr, /--port 0 cannot be used with --workers/)

    const file = join(dir, 'port-zero.yaml')
    await writeFile(file, [
      'allowAnonymous: true',
      'listeners:',
      '  - { type: tcp, name: zero, host: 127.0.0.1, port: 0 }',
      'plugins:',
      "  - module: '@embedmq/persistence-redis'",
      `    options: { url: '${REDIS_URL}', keyPrefix: '${prefix}zero:' }`,
      ''
    ].join('\n'))
    const fromFile = new CliProcess(['start', '--workers', '2', '-c', file])
    assert.deepEqual(await fromFile.waitForExit(), { code: 2, signal: null }, fromFile.transcript())
    assert.match(fromFile.stderr, /listener on port 0 \(zero\)/)
  })

  it('rejects a --workers value that is not a count', async () => {
    for (const bad of ['-1', 'two', '1.5', '9999']) {
      const cli = new CliProcess(['start', `--workers=${bad}`])
      assert.deepEqual(await cli.waitForExit(), { code: 2, signal: null }, cli.transcript())
      assert.match(cli.stderr, /--workers must be a number from 0 to \d+, or auto/)
    }
  })
})
