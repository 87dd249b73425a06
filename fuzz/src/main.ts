/**
 * The long run:
 *   npm run fuzz -- --seed 42 --packets 1000000 --minutes 30
 * Replays the saved regression cases, then fuzzes until the packet budget or
 * the time is used up. Prints progress every few seconds and a summary;
 * exits 1 if anything crashed the broker. Ctrl-C stops it (and its broker).
 */
import { randomInt } from 'node:crypto'
import { parseArgs } from 'node:util'
import { loadCases, REGRESSIONS_DIR } from './corpus.js'
import { fuzz, type RunStats } from './run.js'
import { replayCase } from './triage.js'
import { killAllTargets, type Target } from './target.js'
import type { Transport } from './transport.js'

const USAGE = `usage: npm run fuzz -- [--seed N] [--packets N] [--minutes M] [--transports tcp,ws]
                       [--concurrency N] [--batch N] [--from-batch N] [--max-crashes N] [--broker JSON]
                       [--recycle N]
                       [--no-isolate] [--no-replay] [--no-save]`

interface Args {
  seed: number
  packets: number
  minutes: number
  transports: Transport[]
  concurrency: number
  batch: number
  fromBatch: number
  recycle: number
  maxCrashes: number
  /** Broker options merged over the child's defaults, e.g. '{"limits":{"maxPacketSize":1024}}'. */
  broker: Record<string, unknown>
  isolate: boolean
  replay: boolean
  save: boolean
}

function parse (): Args {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      packets: { type: 'string', default: '1000000' },
      minutes: { type: 'string', default: '0' },
      transports: { type: 'string', default: 'tcp,ws' },
      concurrency: { type: 'string', default: '16' },
      batch: { type: 'string', default: '48' },
      'from-batch': { type: 'string', default: '0' },
      recycle: { type: 'string', default: '1000' },
      'max-crashes': { type: 'string', default: '10' },
      broker: { type: 'string', default: '{}' },
      'no-isolate': { type: 'boolean', default: false },
      'no-replay': { type: 'boolean', default: false },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"\n${USAGE}`)
    return n
  }
  const minutes = (raw: string): number => {
    const n = Number(raw)
    if (!Number.isFinite(n) || n < 0) throw new Error(`--minutes must be a number >= 0 (0: no limit), got "${raw}"\n${USAGE}`)
    return n
  }
  const transports = values.transports.split(',').map(t => t.trim())
  if (transports.length === 0 || !transports.every((t): t is Transport => t === 'tcp' || t === 'ws')) {
    throw new Error(`--transports takes tcp, ws or tcp,ws\n${USAGE}`)
  }
  const broker: unknown = JSON.parse(values.broker)
  if (typeof broker !== 'object' || broker === null || Array.isArray(broker)) throw new Error(`--broker takes a JSON object of broker options\n${USAGE}`)
  return {
    seed: values.seed === undefined ? randomInt(2 ** 31) : int('seed', values.seed, 0) >>> 0,
    packets: int('packets', values.packets, 1),
    minutes: minutes(values.minutes),
    transports,
    concurrency: int('concurrency', values.concurrency, 1),
    batch: int('batch', values.batch, 1),
    fromBatch: int('from-batch', values['from-batch'], 0),
    recycle: int('recycle', values.recycle, 0),
    maxCrashes: int('max-crashes', values['max-crashes'], 1),
    broker: broker as Record<string, unknown>,
    isolate: !values['no-isolate'],
    replay: !values['no-replay'],
    save: !values['no-save']
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US')
const clock = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

function progress (stats: RunStats, rss: number | undefined): string {
  const rate = stats.elapsedMs > 0 ? Math.round(stats.packets / (stats.elapsedMs / 1000)) : 0
  return `[${clock(stats.elapsedMs)}] packets ${fmt(stats.packets)} (mutated ${fmt(stats.mutated)}), sessions ${fmt(stats.sessions)}, ` +
    `closed by broker ${fmt(stats.closedByBroker)}, stalled ${stats.stalled}, crashes ${stats.crashes.length} | ${fmt(rate)} packets/s` +
    (rss === undefined ? '' : ` | broker rss ${Math.round(rss / 1048576)} MB`)
}

function summary (stats: RunStats, regressionFailures: number): string {
  return [
    '',
    '=== fuzz summary ===',
    `seed              ${stats.seed}`,
    `time              ${clock(stats.elapsedMs)} (${fmt(stats.batches)} batches)`,
    `packets sent      ${fmt(stats.packets)} (${fmt(stats.mutated)} mutated; tcp ${fmt(stats.byTransport.tcp.packets)}, ws ${fmt(stats.byTransport.ws.packets)})`,
    `bytes sent        ${fmt(stats.bytes)}`,
    `sessions          ${fmt(stats.sessions)} (tcp ${fmt(stats.byTransport.tcp.sessions)}, ws ${fmt(stats.byTransport.ws.sessions)}; ${fmt(stats.notOpened)} could not open)`,
    `closed by broker  ${fmt(stats.closedByBroker)}`,
    `stalled sessions  ${fmt(stats.stalled)}`,
    `malformed replies ${fmt(stats.malformedReplies)}`,
    `health probes     ${fmt(stats.probes)} (${stats.slowProbes} needed a retry)`,
    `fresh brokers     ${stats.recycles} (--recycle)`,
    `regressions       ${regressionFailures} still failing`,
    `crashes           ${stats.crashes.length}`,
    ...stats.crashes.map(c => `  batch ${c.batch}: ${c.reason}${c.savedTo ? ` -> ${c.savedTo}` : ''}${c.isolated ? ' (isolated to one session)' : ''}`)
  ].join('\n')
}

async function main (): Promise<number> {
  const args = parse()
  let latest: RunStats | undefined
  let regressionFailures = 0
  process.once('SIGINT', () => {
    killAllTargets()
    if (latest) console.log(summary(latest, regressionFailures))
    console.log('interrupted')
    process.exit(130)
  })

  const targetOptions = Object.keys(args.broker).length > 0 ? { broker: args.broker } : {}
  if (args.replay) {
    const cases = loadCases()
    console.log(`replaying ${cases.length} regression case(s) from ${REGRESSIONS_DIR}`)
    for (const { file, regression } of cases) {
      const outcome = await replayCase(regression, { concurrency: args.concurrency, targetOptions })
      if (outcome.reason !== undefined) {
        regressionFailures++
        console.log(`REGRESSION ${file}: ${outcome.reason}\n${(outcome.fatal.length > 0 ? outcome.fatal : outcome.stderrTail).join('\n')}`)
      }
    }
  }

  if (Object.keys(args.broker).length > 0) console.log(`broker options: ${JSON.stringify(args.broker)}`)
  console.log(`fuzzing with seed ${args.seed}: up to ${fmt(args.packets)} packets${args.minutes > 0 ? ` or ${args.minutes} min` : ''} over ${args.transports.join('+')}, ` +
    `${args.batch} sessions per batch, ${args.concurrency} at a time`)
  let lastPrint = 0
  const stats = await fuzz({
    seed: args.seed,
    packets: args.packets,
    ...(args.minutes > 0 ? { deadline: Date.now() + args.minutes * 60_000 } : {}),
    transports: args.transports,
    batchSize: args.batch,
    firstBatch: args.fromBatch,
    recycleEvery: args.recycle,
    concurrency: args.concurrency,
    ...(args.save ? { corpusDir: REGRESSIONS_DIR } : {}),
    isolate: args.isolate,
    maxCrashes: args.maxCrashes,
    targetOptions,
    log: line => console.log(line),
    onBatch: (s: RunStats, target: Target) => {
      latest = s
      if (s.elapsedMs - lastPrint >= 5000) {
        lastPrint = s.elapsedMs
        console.log(progress(s, target.rssBytes()))
      }
    }
  })
  console.log(summary(stats, regressionFailures))
  return stats.crashes.length > 0 || regressionFailures > 0 ? 1 : 0
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  killAllTargets()
  process.exitCode = 2
})
