import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { startBroker, type RunningBroker } from '../src/brokers.js'
import { Client } from '../src/load/client.js'
import { prepare } from '../src/load/workloads.js'
import { BENCH_USERNAME, BROKERS, TRANSPORTS } from '../src/protocol.js'

describe('bench workloads against both brokers (in-process)', function () {
  this.timeout(20_000)

  for (const kind of BROKERS) {
    describe(kind, () => {
      let broker: RunningBroker
      before(async () => { broker = await startBroker(kind) })
      after(async () => { await broker.stop() })

      for (const transport of TRANSPORTS) {
        it(`moves fan-in traffic over ${transport}`, async () => {
          const run = await prepare(broker.endpoints[transport], { kind: 'fan-in', publishers: 2, payloadBytes: 16, batch: 4 })
          await run.start()
          await sleep(200)
          const c = run.counters()
          assert.ok((c.received ?? 0) > 0, `received ${String(c.received)}`)
          assert.equal(c.disconnected, 0)
          await run.stop()
        })

        it(`measures latency over ${transport}`, async () => {
          const run = await prepare(broker.endpoints[transport], { kind: 'latency', ratePerSecond: 1000, payloadBytes: 16, maxSamples: 1000 })
          await run.start()
          await sleep(200)
          const summary = run.takeLatency?.()
          await run.stop()
          assert.ok(summary !== undefined && summary.count > 50, `samples ${String(summary?.count)}`)
          assert.ok(summary.p50 > 0 && summary.p50 < 100)
        })

        it(`keeps a QoS 1 window moving over ${transport}`, async () => {
          const run = await prepare(broker.endpoints[transport], { kind: 'qos1', window: 8, payloadBytes: 16 })
          await run.start()
          await sleep(200)
          const c = run.counters()
          await run.stop()
          assert.ok((c.acked ?? 0) > 8 && (c.delivered ?? 0) > 8, JSON.stringify(c))
        })
      }
    })
  }

  it('embedmq runs its authentication plugin (a wrong password is refused)', async () => {
    const broker = await startBroker('embedmq')
    try {
      await assert.rejects(Client.connect(broker.endpoints.tcp, {
        clientId: 'intruder', username: BENCH_USERNAME, password: 'wrong', keepalive: 60, timeoutMs: 5000
      }), /CONNACK refused/)
    } finally {
      await broker.stop()
    }
  })
})
