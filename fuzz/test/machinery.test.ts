/**
 * The fuzzer's own check: a fuzzer that cannot see a crash proves nothing by
 * reporting none. The broker child is started with planted bugs (see
 * selfTestHooks in broker-child.ts): one throws, one blocks the event loop,
 * each when a message is published to 'fuzz/echo', a topic the seeds use.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadCases } from '../src/corpus.js'
import { fuzz } from '../src/run.js'
import { replayCase } from '../src/triage.js'
import { DEFAULT_SESSION_OPTIONS } from '../src/session.js'
import { killAllTargets } from '../src/target.js'

const PLANTED_TOPIC = 'fuzz/echo'

describe('packet fuzzer machinery (planted bugs)', function () {
  this.timeout(60_000)
  let dir = ''

  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'embedmq-fuzz-')) })
  after(() => {
    killAllTargets()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reports an uncaught exception as a crash with its stack, isolates the session, saves it, and the saved case replays it', async () => {
    const targetOptions = { env: { FUZZ_TARGET_CRASH_TOPIC: PLANTED_TOPIC } }
    const stats = await fuzz({
      seed: 1, packets: 20_000, transports: ['tcp', 'ws'], batchSize: 24, concurrency: 8, corpusDir: dir, isolate: true, maxCrashes: 1, targetOptions
    })
    assert.equal(stats.crashes.length, 1)
    const crash = stats.crashes[0]!
    assert.match(crash.reason, /exit code 70 \(uncaught exception\)/)
    assert.ok(crash.fatal.some(line => line.includes(`planted crash on "${PLANTED_TOPIC}"`)), `stack captured:\n${crash.fatal.join('\n')}`)
    assert.equal(crash.isolated, true)

    const cases = loadCases(dir)
    assert.equal(cases.length, 1)
    const saved = cases[0]!.regression
    assert.equal(saved.sessions.length, 1, 'the case holds just the session that crashes the broker')
    // A CONNECT with a will on the topic is enough, or a CONNECT and a PUBLISH; shrinking is timing-bound, so some slack.
    assert.ok(crash.minimized !== undefined && saved.sessions[0]!.packets.length <= Math.min(5, crash.minimized.from),
      `shrunk to the packets it needs: ${saved.sessions[0]!.notes.join(' ')}`)

    const again = await replayCase(saved, { concurrency: 8, targetOptions })
    assert.match(again.reason ?? '', /uncaught exception/, 'replaying the saved case crashes the planted broker again')
    const fixed = await replayCase(saved, { concurrency: 8 })
    assert.equal(fixed.reason, undefined, 'and a broker without the planted bug survives it')
  })

  it('reports a broker whose event loop is stuck as a crash (the health probe fails)', async () => {
    const stats = await fuzz({
      seed: 1,
      packets: 20_000,
      transports: ['tcp'],
      batchSize: 16,
      concurrency: 8,
      isolate: false,
      maxCrashes: 1,
      probeTimeoutMs: 500,
      session: { ...DEFAULT_SESSION_OPTIONS, connectTimeoutMs: 500, sessionTimeoutMs: 2000 },
      targetOptions: { env: { FUZZ_TARGET_HANG_TOPIC: PLANTED_TOPIC } }
    })
    assert.equal(stats.crashes.length, 1)
    assert.match(stats.crashes[0]!.reason, /health probe over tcp failed twice/)
  })
})
