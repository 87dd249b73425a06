/**
 * `npm run soak`: the orchestrator. Starts the broker in a child process of
 * its own, one or two load generator processes, runs the mix for --minutes
 * (a baseline first, then with slow clients), samples every few seconds, then
 * settles, accounts for every QoS 1/2 message and prints the report.
 *
 * Exit code: 0 = pass; 1 = the broker died, or well-behaved clients lost
 * QoS 1/2 messages; 2 = the soak itself could not run. Never fails on timing.
 */
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs, USAGE, type SoakOptions } from './args.js'
import { ChildHandle, type ExitInfo } from './children.js'
import { buildPlans, mixFor } from './plan.js'
import {
  errorMessage, emptyPerQos,
  type BrokerChildMessage, type BrokerCommand, type BrokerSample, type LoadChildMessage, type LoadCommand, type LoadResult, type Phase, type StreamFinal
} from './protocol.js'
import {
  deliveryTable, describeRun, hostNote, latencyTable, lostQos12, memoryVerdict, mergeRow, samplesTable, slowImpact, sumResults,
  type MemoryVerdict, type Row, type SlowImpact
} from './report.js'

const here = path.dirname(fileURLToPath(import.meta.url))

type BrokerChild = ChildHandle<BrokerCommand, BrokerChildMessage>
type LoadChild = ChildHandle<LoadCommand, LoadChildMessage>

interface Death { atSec: number, exit: ExitInfo, message: string | undefined }

/** Everything a run leaves for the report. */
interface RunState {
  options: SoakOptions
  baselineSec: number
  goAt: number
  rows: Row[]
  samples: Array<{ t: number, sample: BrokerSample }>
  brokerDeath: Death | undefined
  /** What the broker child said before dying, if it could. */
  brokerFatal: string | undefined
  harnessProblems: string[]
  streams: StreamFinal[]
  drained: boolean
  results: LoadResult[]
  interrupted: boolean
  /** When the load stopped (s since go): memory after it is settling, not steady state. */
  loadEndSec: number
}

const children: Array<BrokerChild | LoadChild> = []
const abort = new AbortController()

async function killAll (): Promise<void> {
  await Promise.all(children.map(c => c.kill()))
}

/** Resolves after `ms`, or early when the run is aborted (Ctrl-C, broker death). */
async function pause (ms: number): Promise<void> {
  await sleep(Math.max(0, ms), undefined, { signal: abort.signal }).catch(() => undefined)
}

function startBroker (state: RunState): BrokerChild {
  const broker: BrokerChild = new ChildHandle('broker', path.join(here, 'broker-child.js'), ['--sample-ms', String(state.options.sampleSeconds * 1000)], true)
  children.push(broker)
  broker.on((m) => {
    if (m.type === 'sample') state.samples.push({ t: (m.sample.at - state.goAt) / 1000, sample: m.sample })
    else if (m.type === 'fatal') state.brokerFatal = m.message
  })
  broker.exited().then((exit) => {
    // While stopping, only a crash counts (stop() failing, or an uncaught error on the way out).
    if (state.interrupted || (stoppingBroker && exit.code === 0)) return
    if (stoppingBroker && exit.signal !== null && state.brokerFatal === undefined) return // our own kill after a stop timeout
    state.brokerDeath = { atSec: state.goAt > 0 ? (Date.now() - state.goAt) / 1000 : 0, exit, message: state.brokerFatal }
    abort.abort()
  }, () => undefined)
  return broker
}

let stoppingBroker = false

async function run (state: RunState): Promise<void> {
  const { options } = state
  const broker = startBroker(state)
  const ready = await broker.next('ready', 30_000)
  const urlOf = (t: string): string => {
    const a = ready.addresses.find(x => x.transport === t)
    if (!a) throw new Error(`the broker has no ${t} listener`)
    return a.url
  }
  const plans = buildPlans(options, { tcp: urlOf('tcp'), ws: urlOf('ws') })
  const gens: LoadChild[] = plans.map((plan) => {
    const g: LoadChild = new ChildHandle(`generator ${plan.generator}`, path.join(here, 'load-child.js'), [], false)
    children.push(g)
    g.on((m) => { if (m.type === 'fatal') { state.harnessProblems.push(`${g.name}: ${m.message}`); abort.abort() } })
    g.send({ type: 'setup', plan })
    return g
  })
  await Promise.all(gens.map(g => g.next('ready', 120_000)))

  const sampleMs = options.sampleSeconds * 1000
  const durationMs = options.minutes * 60_000
  state.goAt = Date.now()
  state.samples.length = 0 // setup-time samples are not part of the run
  for (const g of gens) g.send({ type: 'go' })
  console.log(`load started; a row every ${options.sampleSeconds} s (full table and verdict at the end)`)

  let phase: Phase = 'warmup'
  const hasSlow = plans.some(p => p.slow.length > 0)
  let lastTick = state.goAt
  for (let k = 1; !abort.signal.aborted; k++) {
    const tickAt = state.goAt + k * sampleMs
    if (tickAt - state.goAt > durationMs + 1) break
    await pause(tickAt - Date.now())
    if (abort.signal.aborted) break
    gens.forEach(g => g.send({ type: 'tick' }))
    const intervals = await Promise.all(gens.map(g => g.next('interval', 10_000)))
    const now = Date.now()
    const latest = state.samples.filter(s => s.sample.at > lastTick && s.sample.at <= now).at(-1)?.sample
    const row = mergeRow((now - state.goAt) / 1000, (now - lastTick) / 1000, phase, latest, intervals.map(i => i.stats), os.loadavg()[0] ?? 0)
    state.rows.push(row)
    printProgress(row)
    lastTick = now
    if (phase === 'warmup') phase = 'baseline'
    if (phase === 'baseline' && hasSlow && (now - state.goAt) / 1000 >= state.baselineSec) {
      phase = 'slow'
      gens.forEach(g => g.send({ type: 'slow-start' }))
      console.log(`-- slow clients connect and stop reading (t=${((now - state.goAt) / 1000).toFixed(0)} s)`)
    }
  }
  state.loadEndSec = (Date.now() - state.goAt) / 1000
  if (state.interrupted) return

  // Settle and account. After a broker death nothing will drain; keep the waits short.
  const dead = state.brokerDeath !== undefined
  console.log('-- stopping load: slow and flapping clients leave, persistent sessions come back, waiting for acks and deliveries')
  gens.forEach(g => g.send({ type: 'quiesce', timeoutMs: dead ? 3_000 : 30_000 }))
  const quiesced = await Promise.allSettled(gens.map(g => g.next('quiesced', dead ? 20_000 : 60_000)))
  for (const q of quiesced) {
    if (q.status === 'fulfilled') {
      state.streams.push(...q.value.streams)
      if (!q.value.drained) state.drained = false
    } else {
      state.harnessProblems.push(`quiesce: ${errorMessage(q.reason)}`)
    }
  }
  if (quiesced.every(q => q.status === 'fulfilled')) {
    gens.forEach(g => g.send({ type: 'collect', streams: state.streams, quietMs: 2_000, timeoutMs: dead ? 3_000 : 30_000 }))
    const collected = await Promise.allSettled(gens.map(g => g.next('result', 60_000)))
    for (const c of collected) {
      if (c.status === 'fulfilled') state.results.push(c.value.result)
      else state.harnessProblems.push(`collect: ${errorMessage(c.reason)}`)
    }
  }

  gens.forEach(g => g.send({ type: 'shutdown' }))
  await Promise.all(gens.map(g => Promise.race([g.exited(), sleep(15_000)]).then(() => g.kill())))
  if (!state.brokerDeath) {
    stoppingBroker = true
    broker.send({ type: 'stop' })
    const stopped = await Promise.race([broker.exited().then(() => true), sleep(20_000).then(() => false)])
    if (!stopped) state.harnessProblems.push('the broker did not stop within 20 s of stop(); killed')
    await sleep(10) // let the exit handler above record a crash on the way out
  }
}

function printProgress (r: Row): void {
  const b = r.broker
  const recv = r.received[0] + r.received[1] + r.received[2]
  const acked = r.accepted[0] + r.accepted[1] + r.accepted[2]
  const p99 = r.latency.quantile(0.99)
  console.log(`t=${r.t.toFixed(0).padStart(4)}s ${r.phase.padEnd(8)} rss ${b ? (b.rss / 1048576).toFixed(1) : '-'} MB` +
    `  heap ${b ? (b.heapUsed / 1048576).toFixed(1) : '-'} MB  conns ${b?.connections ?? '-'}  acked ${Math.round(acked / r.seconds)}/s` +
    `  recv ${Math.round(recv / r.seconds)}/s  p99 ${p99 === undefined ? '-' : p99.toFixed(1)} ms`)
}

function report (state: RunState, broker: BrokerChild | undefined): number {
  const { options } = state
  console.log('\n== samples (broker process; latency = publish → well-behaved subscriber) ==')
  console.log(samplesTable(state.rows))
  const host = hostNote(state.rows, os.availableParallelism())
  if (host) console.log(host.text)

  const warmupSec = Math.min(options.minutes * 30, state.baselineSec + 30)
  const points = state.samples.filter(s => s.t >= 0 && s.t <= state.loadEndSec)
  const rss: MemoryVerdict = memoryVerdict('broker RSS', points.map(p => ({ t: p.t, bytes: p.sample.rss })), warmupSec)
  // Only windows with a major GC carry a fresh live-heap figure.
  const fresh = points.filter(p => p.sample.majorGcs > 0)
  const heap: MemoryVerdict = fresh.length >= 6
    ? memoryVerdict('broker live heap (after major GC)', fresh.map(p => ({ t: p.t, bytes: p.sample.liveHeap })), warmupSec)
    : { levelsOff: undefined, text: `broker live heap: only ${fresh.length} sampling windows had a major GC; too few to judge (run longer)` }
  console.log('\n== memory ==')
  console.log(rss.text)
  console.log(heap.text)

  const sums = sumResults(state.results)
  const published = emptyPerQos()
  const unacked = emptyPerQos()
  for (const s of state.streams) {
    published[s.qos] += s.sent
    unacked[s.qos] += s.unacked.length
  }
  const accounted = state.results.length > 0 && state.results.length === options.generators
  const lost = lostQos12(sums)
  console.log('\n== deliveries to well-behaved clients (always-on subscribers; persistent sessions that go offline and return) ==')
  if (accounted) {
    console.log(deliveryTable({ ...sums, published, unacked, results: state.results }))
    console.log('owed = publishes on a matching stream that the broker acknowledged (QoS 1/2) or that were written (QoS 0); ' +
      '"never acked" are not owed. QoS 0 may be dropped by design; persistent sessions are not owed QoS 0.')
    if (!state.drained) console.log('note: some publishes were still unacknowledged when the settle timeout ran out (counted as never acked)')
    const byLink: Record<string, number> = {}
    for (const r of state.results) for (const [link, n] of Object.entries(r.lostByLink)) byLink[link] = (byLink[link] ?? 0) + n
    const links = Object.entries(byLink).sort(([a], [b]) => a.localeCompare(b))
    if (links.length > 0) console.log(`QoS 1/2 lost by kind and QoS: ${links.map(([link, n]) => `${link}: ${n}`).join('; ')}`)
    const examples = state.results.flatMap(r => r.missingExamples).slice(0, 10)
    if (examples.length > 0) console.log(`missing QoS 1/2, e.g.: ${examples.join(', ')}`)
  } else {
    console.log(state.interrupted ? 'not accounted: the run was interrupted' : 'not accounted: a generator did not report (see problems below)')
  }
  if (state.brokerDeath && accounted) console.log('note: the broker died during the run, so these counts include what its death cost')

  const impact: SlowImpact = slowImpact(state.rows)
  const lastSample = state.samples.at(-1)?.sample
  console.log('\n== slow clients ==')
  console.log(impact.text)
  if (state.results.length > 0) console.log(latencyTable(state.results))
  if (lastSample) console.log(`slow clients still held by the broker at its last sample: ${lastSample.slowHeld}`)

  const total = <K extends keyof LoadResult>(key: K): number => state.results.reduce((n, r) => n + Number(r[key]), 0)
  console.log('\n== churn ==')
  if (state.results.length > 0) console.log(`flapping: ${total('flapCycles')} connect cycles, wills ${total('willsReceived')} received of ${total('willsExpected')} expected; ` +
    `persistent: ${total('persistentCycles')} offline/online cycles, ${total('sessionsLost')} sessions the broker forgot; ` +
    `hung slow clients replaced ${total('slowCycles')} times; unexpected disconnects of well-behaved clients: ${total('unexpectedDisconnects')}`)
  const errors = [...new Set(state.results.flatMap(r => r.errorExamples))].slice(0, 8)
  if (errors.length > 0) console.log(`client-side errors, e.g.: ${errors.join(' | ')}`)

  console.log('\n== broker process ==')
  const death = state.brokerDeath
  if (death) {
    console.log(`DIED at t=${death.atSec.toFixed(0)} s (exit code ${String(death.exit.code)}, signal ${String(death.exit.signal)})`)
    if (death.message) console.log(death.message.split('\n').slice(0, 12).join('\n'))
  } else {
    console.log(state.interrupted ? 'alive when the run was interrupted' : 'alive for the whole run; stopped cleanly on request')
  }
  if (broker && broker.lineCount > 0) {
    console.log(`broker output: ${broker.lineCount} lines; last ones:`)
    for (const line of broker.tail.slice(-6)) console.log(`  ${line}`)
  }
  if (state.harnessProblems.length > 0) console.log(`soak problems: ${state.harnessProblems.join(' | ')}`)

  const failures: string[] = []
  if (death) failures.push('the broker died')
  if (accounted && lost > 0) failures.push(`${lost} QoS 1/2 messages lost to well-behaved clients`)
  console.log('\n== verdict ==')
  console.log(rss.levelsOff === undefined ? rss.text : rss.levelsOff ? 'memory levels off' : `memory keeps growing: ${rss.text.split(': keeps growing: ')[1]?.split(' — ')[0] ?? ''}`)
  console.log(accounted ? `QoS 1/2 losses for well-behaved clients: ${lost}` : 'QoS 1/2 losses: not accounted')
  const caveat = host?.oversubscribed === true ? ' (host oversubscribed: latency is only indicative)' : ''
  console.log((impact.hurt === undefined ? impact.text : impact.hurt ? 'slow clients hurt the others (see above)' : 'slow clients did not hurt the others') + caveat)
  if (state.interrupted) {
    console.log('INTERRUPTED (exit 130)')
    return 130
  }
  if (failures.length > 0) {
    console.log(`FAIL (exit 1): ${failures.join('; ')}`)
    return 1
  }
  if (!accounted || state.harnessProblems.length > 0) {
    console.log('SOAK ERROR (exit 2): the run could not be completed or accounted')
    return 2
  }
  console.log('PASS (exit 0)')
  return 0
}

async function main (): Promise<number> {
  let options: SoakOptions | 'help'
  try {
    options = parseArgs(process.argv.slice(2))
  } catch (err) {
    console.error(errorMessage(err).split('\n    at ')[0])
    return 2
  }
  if (options === 'help') {
    console.log(USAGE)
    return 0
  }
  const durationSec = options.minutes * 60
  const state: RunState = {
    options,
    // Long enough for a few clean intervals, never more than half the run.
    baselineSec: Math.min(durationSec / 2, Math.max(20, durationSec * 0.2)),
    goAt: 0, rows: [], samples: [], brokerDeath: undefined, brokerFatal: undefined, harnessProblems: [],
    streams: [], drained: true, results: [], interrupted: false, loadEndSec: Infinity
  }
  console.log(describeRun(options, mixFor(options.clients, options.skip), state.baselineSec))

  let interrupts = 0
  process.on('SIGINT', () => {
    if (++interrupts > 1) { for (const c of children) c.killNow(); process.exit(130) }
    console.log('\n-- interrupted: stopping every child (Ctrl-C again to force)')
    state.interrupted = true
    abort.abort()
    killAll().catch(() => undefined)
  })
  process.on('SIGTERM', () => { for (const c of children) c.killNow(); process.exit(143) })
  process.on('exit', () => { for (const c of children) c.killNow() })

  try {
    await run(state)
  } catch (err) {
    if (!state.interrupted && !state.brokerDeath) state.harnessProblems.push(errorMessage(err).split('\n')[0] ?? 'error')
  } finally {
    await killAll()
  }
  return report(state, children.find((c): c is BrokerChild => c.name === 'broker'))
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(errorMessage(err))
  process.exitCode = 2
})
