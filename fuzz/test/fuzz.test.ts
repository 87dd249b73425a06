/**
 * The bounded fuzz run of `npm test`: every saved regression case, then
 * tens of thousands of mutated packets over TCP and WebSocket against one
 * broker child: a fixed seed (CI is reproducible) and a seed from today's
 * UTC date (each day covers new ground; the seed is in the test title, so a
 * failure is reproduced with `npm run fuzz -- --seed <it>`). Asserts what
 * the broker does (no crash, still serves a client), never how fast.
 */
import assert from 'node:assert/strict'
import { loadCases, REGRESSIONS_DIR } from '../src/corpus.js'
import { dateSeed } from '@embedmq/testing'
import { healthProblem } from '../src/probe.js'
import { fuzz, type RunStats } from '../src/run.js'
import { replayCase } from '../src/triage.js'
import { killAllTargets, Target } from '../src/target.js'

const FIXED_SEED = 0x5eed
const FIXED_PACKETS = 40_000
const DAY_SEED = dateSeed()
const DAY_PACKETS = 12_000

function describeRun (stats: RunStats): string {
  return `${stats.packets} packets (${stats.mutated} mutated; tcp ${stats.byTransport.tcp.packets}, ws ${stats.byTransport.ws.packets}) ` +
    `in ${stats.sessions} sessions, ${stats.closedByBroker} closed by the broker, ${stats.stalled} stalled, ` +
    `${stats.malformedReplies} malformed replies, ${stats.probes} health probes, ` +
    `${(stats.elapsedMs / 1000).toFixed(1)} s`
}

function crashDetails (stats: RunStats): string {
  return stats.crashes.map(c =>
    `batch ${c.batch}: ${c.reason}${c.savedTo ? `\nsaved to ${c.savedTo}` : ''}\n${(c.fatal.length > 0 ? c.fatal : c.stderrTail.slice(-30)).join('\n')}`
  ).join('\n\n')
}

describe('packet fuzzer (bounded run)', function () {
  this.timeout(120_000)
  let target: Target | undefined
  const onSigint = (): void => {
    killAllTargets()
    process.exit(130)
  }

  before(async () => {
    process.once('SIGINT', onSigint)
    target = await Target.start()
  })

  after(async () => {
    await target?.stop()
    killAllTargets()
    process.off('SIGINT', onSigint)
  })

  const cases = loadCases()
  it(`replays the ${cases.length} saved regression case(s) in fuzz/corpus/regressions without a crash`, async () => {
    const failures: string[] = []
    for (const { file, regression } of cases) {
      const outcome = await replayCase(regression, { concurrency: 16 })
      if (outcome.reason !== undefined) {
        failures.push(`${file}: ${outcome.reason}\n${(outcome.fatal.length > 0 ? outcome.fatal : outcome.stderrTail.slice(-20)).join('\n')}`)
      }
    }
    assert.equal(failures.length, 0, `${failures.length} regression case(s) crash the broker again:\n${failures.join('\n\n')}`)
  })

  const run = async (seed: number, packets: number): Promise<RunStats> => {
    assert.ok(target?.alive(), 'the broker child died in an earlier test')
    const stats = await fuzz({
      seed,
      packets,
      transports: ['tcp', 'ws'],
      batchSize: 48,
      concurrency: 16,
      corpusDir: REGRESSIONS_DIR,
      isolate: true,
      maxCrashes: 1,
      target,
      // Crashes are logged in full; malformed replies (a known mqtt-packet issue, see README) only counted.
      log: (line) => { if (!line.startsWith('malformed reply')) console.log(`      ${line}`) }
    })
    console.log(`      seed ${seed}: ${describeRun(stats)}`)
    assert.equal(stats.crashes.length, 0, `the broker crashed (seed ${seed}):\n${crashDetails(stats)}`)
    assert.ok(stats.packets >= packets, `only ${stats.packets} of ${packets} packets were sent`)
    assert.ok(stats.byTransport.tcp.packets > 0 && stats.byTransport.ws.packets > 0, 'both transports were fuzzed')
    assert.ok(stats.mutated > 0 && stats.closedByBroker > 0, 'mutated packets were sent, and some made the broker hang up')
    assert.equal(stats.notOpened, 0, 'every session could open its socket')
    return stats
  }

  it(`fixed seed ${FIXED_SEED}: ${FIXED_PACKETS}+ packets over TCP and WS, 0 crashes`, async () => {
    await run(FIXED_SEED, FIXED_PACKETS)
  })

  it(`date seed ${DAY_SEED} (today, UTC): ${DAY_PACKETS}+ packets over TCP and WS, 0 crashes`, async () => {
    await run(DAY_SEED, DAY_PACKETS)
  })

  it('the broker still serves a well-formed client over TCP and WS afterwards', async () => {
    const broker = target
    assert.ok(broker !== undefined && broker.alive(), 'the broker child is alive')
    assert.equal(await healthProblem(broker, 'tcp'), undefined)
    assert.equal(await healthProblem(broker, 'ws'), undefined)
  })
})
