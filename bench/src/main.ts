/**
 * `npm run bench`: embedmq against bare aedes, over TCP and WebSocket, in
 * alternating short trials (each broker and each generator in a fresh child
 * process), reporting medians and ratios. See bench/README.md.
 */
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { killAllChildren } from './children.js'
import { parseOptions, USAGE, type Options } from './options.js'
import { cleanupPending } from './persistence.js'
import { BROKERS, errorMessage, PERSISTENCE_KINDS, TRANSPORTS } from './protocol.js'
import { buildReport, renderConsole, writeReport, type TrialRecord } from './report.js'
import { PERSISTENCE_VARIANTS, SCENARIOS, type Scenario } from './scenarios.js'
import { runTrial, type TrialResult } from './trial.js'

const RESULTS_DIR = fileURLToPath(new URL('../../results/', import.meta.url))

let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130)  // a second Ctrl-C: do not wait for the cleanup
    interrupted = true
    killAllChildren()
    console.error(`\nbench: ${signal}, children killed`)
    // A persistence trial's temp file or Redis keys go too (bounded: a dead Redis must not hold the exit).
    void cleanupPending(3_000).finally(() => process.exit(130))
  })
}
// Whatever ends this process, no broker or generator outlives it.
process.on('exit', killAllChildren)

function describe (scenario: Scenario, result: TrialResult): string {
  const metrics = scenario.metrics.map(m => {
    const v = result.metrics[m.id] ?? Number.NaN
    return `${m.label} ${v.toLocaleString('en-US', { maximumFractionDigits: m.decimals })} ${m.unit}`
  }).join(', ')
  const cpu = Number.isFinite(result.generatorCpu) ? `  [gen ${result.generatorCpu.toFixed(0)}% / broker ${result.brokerCpu.toFixed(0)}% CPU]` : ''
  return `${metrics}${cpu}${result.warnings.length > 0 ? `  (${result.warnings.join('; ')})` : ''}`
}

async function run (options: Options): Promise<number> {
  const started = performance.now()
  const loadAtStart = os.loadavg()[0] ?? Number.NaN
  const cpus = os.cpus().length
  if (loadAtStart > cpus / 2) {
    console.log(`bench: note: the 1-minute load average is ${loadAtStart.toFixed(1)} on ${cpus} cores; other processes will make rates noisy (CPU per message much less so)`)
  }
  const scenarios = SCENARIOS.filter(s => options.scenarios.includes(s.name))
  const variants = options.scenarios.includes('persistence') ? PERSISTENCE_VARIANTS : []
  const records: TrialRecord[] = []
  const total = options.rounds * (scenarios.length * TRANSPORTS.length * BROKERS.length + variants.length * PERSISTENCE_KINDS.length)
  const names = [...scenarios.map(s => s.name), ...(variants.length > 0 ? ['persistence'] : [])]
  console.log(`bench: ${total} trials (${names.join(', ')}; ${options.rounds} round(s); embedmq and aedes alternating)`)
  const trial = async (record: TrialRecord, label: string): Promise<void> => {
    try {
      record.result = await runTrial(record.scenario, record.broker, record.transport, record.round, options, record.provider)
      console.log(`${label} ${describe(record.scenario, record.result)}`)
    } catch (err) {
      record.error = errorMessage(err)
      console.log(`${label} FAILED: ${record.error}`)
    }
    records.push(record)
  }
  for (const scenario of scenarios) {
    console.log(`\n${scenario.title}`)
    for (let round = 1; round <= options.rounds; round++) {
      for (const transport of TRANSPORTS) {
        for (const broker of BROKERS) {
          if (interrupted) return 130
          await trial({ scenario, round, broker, transport }, `  r${round} ${transport.padEnd(3)} ${broker.padEnd(7)}`)
        }
      }
    }
  }
  // Persistence: embedmq over TCP only, the providers alternating within each round and variant.
  for (const scenario of variants) {
    console.log(`\n${scenario.title}`)
    for (let round = 1; round <= options.rounds; round++) {
      for (const provider of PERSISTENCE_KINDS) {
        if (interrupted) return 130
        await trial({ scenario, round, broker: 'embedmq', transport: 'tcp', provider }, `  r${round} tcp ${provider.padEnd(7)}`)
      }
    }
  }
  const report = buildReport(records, scenarios, options, (performance.now() - started) / 1000, loadAtStart)
  console.log(renderConsole(report))
  const files = await writeReport(report, RESULTS_DIR)
  console.log(`\nwrote ${files.join(', ')}`)
  return records.some(r => r.error !== undefined) ? 1 : 0
}

async function main (): Promise<void> {
  let options: Options | undefined
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    console.error(`bench: ${errorMessage(err)}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (!options) {
    console.log(USAGE)
    return
  }
  process.exitCode = await run(options)
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
  process.exitCode = 1
}).finally(killAllChildren)
