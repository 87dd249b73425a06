import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startBroker } from '../src/brokers.js'
import { prepare } from '../src/load/workloads.js'
import { deleteRedisKeys, preparePersistence } from '../src/persistence.js'
import { PERSISTENCE_KINDS, type PersistenceKind } from '../src/protocol.js'
import { buildPersistence, type TrialRecord } from '../src/report.js'
import { PERSISTENCE_VARIANTS } from '../src/scenarios.js'

/** Whether something answers on Redis' port (a Redis runs there in development and CI). */
function redisUp (): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port: 6379 })
    socket.setTimeout(500, () => { socket.destroy(); resolve(false) })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

describe('bench persistence scenario', function () {
  this.timeout(20_000)
  let redis = false
  before(async () => { redis = await redisUp() })

  for (const kind of PERSISTENCE_KINDS) {
    for (const subscriber of ['connected', 'offline'] as const) {
      it(`moves QoS 1 to ${subscriber === 'offline' ? 'an' : 'a'} ${subscriber} persistent session with ${kind} persistence, and cleans up after`, async function () {
        if (kind === 'redis' && !redis) this.skip()
        const place = await preparePersistence(kind)
        const broker = await startBroker('embedmq', place.config)
        try {
          const run = await prepare(broker.endpoints.tcp, { kind: 'persistent-qos1', window: 8, payloadBytes: 16, subscriber })
          await run.start()
          await sleep(300)
          const c = run.counters()
          await run.stop()
          assert.ok((c.acked ?? 0) > 8, JSON.stringify(c))
          if (subscriber === 'connected') assert.ok((c.delivered ?? 0) > 8, JSON.stringify(c))
          else assert.equal(c.delivered, 0)
          assert.equal(c.disconnected, 0)
        } finally {
          await broker.stop()
        }
        if (place.config.kind === 'sqlite') assert.ok(existsSync(place.config.file), 'the broker wrote its file')
        assert.equal(await place.cleanup(), '')
        if (place.config.kind === 'sqlite') assert.ok(!existsSync(path.dirname(place.config.file)))
        if (place.config.kind === 'redis') assert.equal(await deleteRedisKeys(place.config.url, place.config.keyPrefix), 0)
      })
    }
  }

  it('refuses to delete Redis keys under a pattern-like prefix', async () => {
    await assert.rejects(deleteRedisKeys('redis://127.0.0.1:6379', 'bench*'), /refusing/)
  })

  it('reports each provider as a ratio to memory', () => {
    const scenario = PERSISTENCE_VARIANTS[1]!
    const record = (provider: PersistenceKind, round: number, acked: number, cpu: number): TrialRecord => ({
      scenario, round, broker: 'embedmq', transport: 'tcp', provider,
      result: { metrics: { acked, cpu }, generatorCpu: 10, brokerCpu: 90, connections: 1, warnings: [] }
    })
    const result = buildPersistence([
      record('memory', 1, 1000, 10), record('sqlite', 1, 100, 50), record('redis', 1, 500, 20),
      record('memory', 2, 3000, 30), record('sqlite', 2, 300, 150), record('redis', 2, 1500, 60),
      record('memory', 3, 2000, 20), record('sqlite', 3, 200, 100), { scenario, round: 3, broker: 'embedmq', transport: 'tcp', provider: 'redis', error: 'boom' }
    ])
    assert.ok(result)
    assert.deepEqual(result.rows.map(r => [r.variant, r.provider, r.acked, r.ackedVsMemory, r.cpuVsMemory]), [
      ['offline', 'memory', 2000, 1, 1],
      ['offline', 'sqlite', 200, 0.1, 0.2],
      ['offline', 'redis', 1000, 0.5, 0.5]
    ])
    assert.deepEqual(result.warnings, ['round 3 offline/redis: FAILED: boom'])
    assert.equal(buildPersistence([]), undefined)
  })
})
