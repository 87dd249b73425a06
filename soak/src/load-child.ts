/**
 * Child process: one load generator. Runs its share of the client mix (see
 * plan.ts) against the broker, answers the orchestrator's ticks with interval
 * stats, and at the end settles and accounts for every message. Kept out of
 * the broker's process so the broker's CPU and memory are its own.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { MqttClient } from 'mqtt'
import { connectClient, connected, endClient } from './clients/connect.js'
import { Counters } from './clients/counters.js'
import { Flapper, WILL_ROOT } from './clients/flapper.js'
import { PersistentSession } from './clients/persistent.js'
import { Publisher } from './clients/publisher.js'
import { SlowClient } from './clients/slow.js'
import { IdleClient, Subscriber } from './clients/subscriber.js'
import type { LoadPlan } from './plan.js'
import {
  emptyDeliveryByQos, errorMessage, hasType,
  type IntervalStats, type LoadChildMessage, type LoadCommand, type LoadResult, type StreamFinal
} from './protocol.js'
import { SeededRandom } from '@embedmq/testing'
import { LOOP_RESOLUTION_MS, loopDelayMs } from './stats.js'

const PACE_MS = 20
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

function send (message: LoadChildMessage): void {
  process.send?.(message)
}

/** Runs `fn` over `items`, at most `width` at a time (no connect storm at setup). */
async function inBatches<T> (items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn))
}

class Generator {
  readonly counters = new Counters()
  readonly loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  publishers: Publisher[] = []
  subscribers: Subscriber[] = []
  persistent: PersistentSession[] = []
  slow: SlowClient[] = []
  flappers: Flapper[] = []
  idle: IdleClient[] = []
  willWatcher: MqttClient | undefined
  paceTimer: NodeJS.Timeout | undefined
  cpu = process.cpuUsage()
  cpuAt = performance.now()

  constructor (readonly plan: LoadPlan) {
    const rng = new SeededRandom(plan.seed)
    const c = this.counters
    this.publishers = plan.publishers.map(s => new Publisher(s, plan, c))
    this.subscribers = plan.subscribers.map(s => new Subscriber(s, plan, c))
    this.persistent = plan.persistent.map(s => new PersistentSession(s, plan, c, rng.fork(s.id)))
    this.slow = plan.slow.map(s => new SlowClient(s, plan, c))
    this.flappers = plan.flappers.map(s => new Flapper(s, plan, c, rng.fork(s.id)))
    this.idle = plan.idle.map(s => new IdleClient(s, plan, c))
    this.loop.enable()
  }

  /** Every subscription is in place before any publisher starts, so every subscriber is owed every message. */
  async setup (): Promise<void> {
    const watcher = connectClient(this.plan.urls, 'tcp', { clientId: `soak-wills-g${this.plan.generator}`, clean: true, reconnectPeriod: 1000 })
    watcher.on('error', (err) => this.counters.error('will watcher', err))
    watcher.on('message', () => this.counters.will())
    await connected(watcher)
    await watcher.subscribeAsync(`${WILL_ROOT}/g${this.plan.generator}/#`, { qos: 1 })
    this.willWatcher = watcher
    await inBatches(this.subscribers, 20, s => s.start())
    await inBatches(this.persistent, 20, s => s.start())
    await inBatches(this.idle, 20, s => s.start())
    await inBatches(this.publishers, 20, p => p.start())
  }

  go (): void {
    this.cpu = process.cpuUsage()
    this.cpuAt = performance.now()
    let last = performance.now()
    this.paceTimer = setInterval(() => {
      const now = performance.now()
      for (const p of this.publishers) p.tick(now - last)
      last = now
    }, PACE_MS)
    for (const s of this.persistent) s.cycle()
    for (const f of this.flappers) f.start()
  }

  startSlow (): void {
    this.counters.phase = 'slow'
    for (const s of this.slow) s.start()
  }

  interval (): IntervalStats {
    const c = this.counters
    const used = process.cpuUsage(this.cpu)
    const now = performance.now()
    const cpuPct = (used.user + used.system) / 1000 / (now - this.cpuAt) * 100
    this.cpu = process.cpuUsage()
    this.cpuAt = now
    const stats: IntervalStats = {
      published: c.published,
      accepted: c.accepted,
      skipped: c.skipped,
      received: c.received,
      persistentReceived: c.persistentReceived,
      latency: c.latency.toJSON(),
      flapConnects: c.flapConnects,
      willsReceived: c.willsReceived,
      unexpectedDisconnects: c.unexpectedDisconnects,
      errors: c.errors,
      persistentOnline: this.persistent.filter(p => p.online).length,
      slowOpen: this.slow.filter(s => s.connected).length,
      generatorLoopP99Ms: loopDelayMs(this.loop.percentile(99)),
      generatorCpuPct: cpuPct
    }
    c.reset()
    if (c.phase === 'warmup') c.phase = 'baseline'
    this.loop.reset()
    return stats
  }

  /**
   * Stops the traffic and the misbehaviour, then waits for publishers to get
   * their acknowledgements. Slow clients go first: while they are frozen, a
   * broker that waits on them may never acknowledge anything.
   */
  async quiesce (timeoutMs: number): Promise<{ streams: StreamFinal[], drained: boolean, outstanding: number }> {
    clearInterval(this.paceTimer)
    for (const s of this.slow) s.close()
    await Promise.all(this.flappers.map(f => f.close()))
    await Promise.all(this.persistent.map(p => p.settle()))
    const deadline = Date.now() + timeoutMs
    const outstanding = (): number => this.publishers.reduce((n, p) => n + p.outstanding, 0)
    while (outstanding() > 0 && Date.now() < deadline) await sleep(100)
    return { streams: this.publishers.map(p => p.final()), drained: outstanding() === 0, outstanding: outstanding() }
  }

  /** Waits until deliveries stop (or the timeout), then counts what arrived against what was owed. */
  async collect (streams: StreamFinal[], quietMs: number, timeoutMs: number): Promise<LoadResult> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && Date.now() - this.counters.lastDeliveryAt < quietMs) await sleep(100)
    const result: LoadResult = {
      alwaysOn: emptyDeliveryByQos(),
      persistent: emptyDeliveryByQos(),
      missingExamples: [],
      lostByLink: {},
      willsExpected: this.flappers.reduce((n, f) => n + f.willsExpected, 0),
      willsReceived: this.counters.totalWillsReceived,
      flapCycles: this.flappers.reduce((n, f) => n + f.cycles, 0),
      persistentCycles: this.persistent.reduce((n, p) => n + p.cycles, 0),
      sessionsLost: this.persistent.reduce((n, p) => n + p.sessionsLost, 0),
      slowCycles: this.slow.reduce((n, s) => n + s.cycles, 0),
      latency: Object.fromEntries([...this.counters.runLatency].map(([k, h]) => [k, h.toJSON()])),
      unexpectedDisconnects: this.counters.totalUnexpectedDisconnects,
      errorExamples: this.counters.errorExamples
    }
    for (const s of this.subscribers) s.receipts.account(streams, result.alwaysOn, result.missingExamples, result.lostByLink)
    for (const p of this.persistent) p.receipts.account(streams, result.persistent, result.missingExamples, result.lostByLink, true)
    return result
  }

  async close (): Promise<void> {
    clearInterval(this.paceTimer)
    for (const s of this.slow) s.close()
    await Promise.all([
      ...this.flappers.map(f => f.close()),
      ...this.publishers.map(p => p.close()),
      ...this.subscribers.map(s => s.close()),
      ...this.persistent.map(p => p.close()),
      ...this.idle.map(i => i.close()),
      ...(this.willWatcher ? [endClient(this.willWatcher)] : [])
    ])
  }
}

let generator: Generator | undefined

async function handle (command: LoadCommand): Promise<void> {
  if (command.type === 'setup') {
    generator = new Generator(command.plan)
    await generator.setup()
    send({ type: 'ready' })
    return
  }
  const g = generator
  if (!g) throw new Error(`"${command.type}" before setup`)
  switch (command.type) {
    case 'go': g.go(); return
    case 'slow-start': g.startSlow(); return
    case 'tick': send({ type: 'interval', stats: g.interval() }); return
    case 'quiesce': send({ type: 'quiesced', ...await g.quiesce(command.timeoutMs) }); return
    case 'collect': send({ type: 'result', result: await g.collect(command.streams, command.quietMs, command.timeoutMs) }); return
    case 'shutdown':
      await g.close()
      process.exit(0)
  }
}

function fatal (err: unknown): void {
  send({ type: 'fatal', message: errorMessage(err) })
  setTimeout(() => process.exit(1), 200)
}

// Shutdown belongs to the orchestrator (Ctrl-C reaches the whole process group); an orphan exits.
process.on('SIGINT', () => undefined)
process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', fatal)
process.on('message', (raw: unknown) => {
  if (!hasType(raw)) return
  handle(raw as LoadCommand).catch(fatal)
})
