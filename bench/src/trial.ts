/**
 * One trial: a fresh broker process, a fresh generator process, one
 * scenario on one transport. Both processes are killed before it returns,
 * whatever happened.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Child } from './children.js'
import type { Options } from './options.js'
import { preparePersistence } from './persistence.js'
import type { BrokerKind, BrokerReply, BrokerRequest, BrokerSample, GeneratorReply, GeneratorRequest, PersistenceKind, Snapshot, Transport } from './protocol.js'
import type { Scenario, TrialSamples } from './scenarios.js'
import { cpuPercent } from './stats.js'

const START_TIMEOUT_MS = 20_000
const PREPARE_TIMEOUT_MS = 60_000
const SAMPLE_TIMEOUT_MS = 10_000
/** Pause before a memory sample, so connection set-up work (timers, buffers) has finished. */
const MEMORY_SETTLE_MS = 300

export interface TrialResult {
  metrics: Record<string, number>
  /** Generator and broker CPU over the window, % of one core (NaN for memory trials). */
  generatorCpu: number
  brokerCpu: number
  connections: number
  warnings: string[]
}

type BrokerChild = Child<BrokerRequest, BrokerReply>
type GeneratorChild = Child<GeneratorRequest, GeneratorReply>

async function samplePair (broker: BrokerChild, generator: GeneratorChild, gc: boolean): Promise<[BrokerSample, Snapshot]> {
  const [b, g] = await Promise.all([
    broker.request({ type: 'sample', gc }, 'sample', SAMPLE_TIMEOUT_MS),
    generator.request({ type: 'mark' }, 'mark', SAMPLE_TIMEOUT_MS)
  ])
  return [b, g.snapshot]
}

async function measureLoad (broker: BrokerChild, generator: GeneratorChild, options: Options): Promise<TrialSamples> {
  await generator.request({ type: 'start' }, 'started', START_TIMEOUT_MS)
  await sleep(options.warmupMs)
  const [b0, g0] = await samplePair(broker, generator, false)
  await sleep(options.durationMs)
  const [b1, g1] = await samplePair(broker, generator, false)
  return { generator: [g0, g1], broker: [b0, b1] }
}

async function measureMemory (broker: BrokerChild, generator: GeneratorChild): Promise<TrialSamples> {
  await sleep(MEMORY_SETTLE_MS)
  const [b0, g0] = await samplePair(broker, generator, true)
  await generator.request({ type: 'start' }, 'started', PREPARE_TIMEOUT_MS)
  await sleep(MEMORY_SETTLE_MS)
  const [b1, g1] = await samplePair(broker, generator, true)
  return { generator: [g0, g1], broker: [b0, b1] }
}

function brokerExecArgv (options: Options, name: string): string[] {
  const argv = ['--expose-gc']
  if (options.cpuProfDir !== undefined) argv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`)
  return argv
}

/**
 * `persistence` (embedmq only): the provider the broker runs with, in a fresh
 * temp file / Redis key prefix that is removed after the broker is killed.
 */
export async function runTrial (scenario: Scenario, kind: BrokerKind, transport: Transport, round: number, options: Options, persistence?: PersistenceKind): Promise<TrialResult> {
  const name = [scenario.name, scenario.variant, persistence ?? kind, transport, `r${round}`].filter(p => p !== undefined).join('-')
  const place = persistence === undefined ? undefined : await preparePersistence(persistence)
  const args = place === undefined ? [kind] : [kind, JSON.stringify(place.config)]
  const broker: BrokerChild = new Child('./broker-process.js', args, `${kind} broker`, brokerExecArgv(options, name))
  let generator: GeneratorChild | undefined
  const warnings: string[] = []
  try {
    const ready = await broker.expect('ready', START_TIMEOUT_MS)
    generator = new Child('./generator.js', [], 'generator')
    const prepared = await generator.request({ type: 'prepare', endpoint: ready.endpoints[transport], workload: scenario.workload(options) }, 'prepared', PREPARE_TIMEOUT_MS)
    const samples = scenario.mode === 'memory'
      ? await measureMemory(broker, generator)
      : await measureLoad(broker, generator, options)
    const [g0, g1] = samples.generator
    const [b0, b1] = samples.broker
    const closed = g1.counters.disconnected ?? 0
    if (closed > 0) warnings.push(`${closed} client connection(s) closed during the trial`)
    // embedmq drops QoS 0 for a subscriber with limits.outgoing.maxBufferedBytes unsent (bare aedes holds
    // publishers back instead); a rate with drops is not comparable, so say so.
    const dropped = b1.dropped - b0.dropped
    if (dropped > 0) warnings.push(`broker dropped ${dropped} QoS 0 deliveries to slow subscribers during the window`)
    const skipped = g1.counters.skipped ?? 0
    if (skipped > 0) warnings.push(`generator fell behind the fixed rate and skipped ${skipped} message(s)`)
    const load = scenario.mode === 'load'
    return {
      metrics: scenario.measure(samples),
      generatorCpu: load ? cpuPercent(g0.cpu, g1.cpu, g1.at - g0.at) : Number.NaN,
      brokerCpu: load ? cpuPercent(b0.cpu, b1.cpu, b1.at - b0.at) : Number.NaN,
      connections: Math.max(prepared.connections, g1.counters.connected ?? 0),
      warnings
    }
  } finally {
    if (options.cpuProfDir !== undefined) {
      // Broker first, so its profile ends with the window instead of covering the clients' teardown.
      await broker.stop({ type: 'exit' }, 10_000)
      await generator?.kill()
    } else {
      await generator?.kill()
      await broker.kill()
    }
    // After the kill: nothing writes to the file or the keys any more.
    // A failed cleanup is printed, and also lands in the result's warnings (the returned result holds this array).
    const leftover = await place?.cleanup()
    if (leftover) {
      console.log(`  warning: ${leftover}`)
      warnings.push(leftover)
    }
  }
}
