/**
 * The scenarios: the traffic each one generates, and how a trial's samples
 * become its metrics. SCENARIOS compare embedmq with bare aedes;
 * PERSISTENCE_VARIANTS compare embedmq's persistence providers.
 */
import type { Options, ScenarioName } from './options.js'
import type { BrokerSample, Snapshot, Workload } from './protocol.js'

export interface MetricDef {
  id: string
  label: string
  unit: string
  better: 'higher' | 'lower'
  decimals: number
  /** Checked against the targets (embedmq ≥ 1.0× aedes, WS ≥ 0.8× TCP); supporting metrics are not. */
  target: boolean
}

/** What one trial observed: generator snapshots and broker samples at the window's two edges. */
export interface TrialSamples {
  generator: [Snapshot, Snapshot]
  broker: [BrokerSample, BrokerSample]
}

export interface Scenario {
  name: ScenarioName
  /** The persistence scenario's subscriber variant; undefined for the others. */
  variant?: 'connected' | 'offline'
  title: string
  /** 'load' measures a window of traffic; 'memory' measures the broker before and after connecting. */
  mode: 'load' | 'memory'
  metrics: MetricDef[]
  workload (options: Options): Workload
  measure (samples: TrialSamples): Record<string, number>
}

const PAYLOAD_BYTES = 64
/** QoS 0 publishes per socket write: small enough to interleave publishers, big enough to keep the generator cheap. */
const BATCH = 32
const LATENCY_RATE = 2_000

const perSecond = (id: string, label: string): MetricDef => ({ id, label, unit: 'msg/s', better: 'higher', decimals: 0, target: true })
const ms = (id: string, label: string): MetricDef => ({ id, label, unit: 'ms', better: 'lower', decimals: 3, target: true })
const kib = (id: string, label: string): MetricDef => ({ id, label, unit: 'KiB/conn', better: 'lower', decimals: 1, target: true })
/**
 * Broker CPU time per message: unlike a rate, it barely moves when other
 * processes compete for the cores, so it is the steadier embedmq-vs-aedes
 * comparison on a busy machine.
 */
const cpuCost: MetricDef = { id: 'cpu', label: 'broker CPU', unit: 'µs/msg', better: 'lower', decimals: 2, target: false }

function delta (s: TrialSamples, counter: string): number {
  const [a, b] = s.generator
  return (b.counters[counter] ?? 0) - (a.counters[counter] ?? 0)
}

/** Counter increase per second over the generator's window. */
function rate (s: TrialSamples, counter: string): number {
  const [a, b] = s.generator
  return delta(s, counter) / ((b.at - a.at) / 1000)
}

/** Broker CPU microseconds per counted message over the window. */
function cpuPer (s: TrialSamples, counter: string): number {
  const [a, b] = s.broker
  const micros = (b.cpu.user - a.cpu.user) + (b.cpu.system - a.cpu.system)
  return micros / delta(s, counter)
}

/** QoS 1 publishes kept unacknowledged by the publisher (qos1 and persistence). */
const QOS1_WINDOW = 64

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'fan-in',
    title: 'fan-in QoS 0: 8 publishers → 1 subscriber',
    mode: 'load',
    metrics: [perSecond('received', 'received'), cpuCost],
    workload: () => ({ kind: 'fan-in', publishers: 8, payloadBytes: PAYLOAD_BYTES, batch: BATCH }),
    measure: s => ({ received: rate(s, 'received'), cpu: cpuPer(s, 'received') })
  },
  {
    name: 'fan-out',
    title: 'fan-out QoS 0: 1 publisher → 50 subscribers',
    mode: 'load',
    metrics: [{ ...perSecond('delivered', 'deliveries'), unit: 'deliveries/s' }, { ...cpuCost, unit: 'µs/delivery' }],
    workload: () => ({ kind: 'fan-out', subscribers: 50, payloadBytes: PAYLOAD_BYTES, batch: BATCH }),
    measure: s => ({ delivered: rate(s, 'delivered'), cpu: cpuPer(s, 'delivered') })
  },
  {
    name: 'qos1',
    title: `QoS 1, ${QOS1_WINDOW} in flight: 1 publisher → 1 subscriber`,
    mode: 'load',
    metrics: [perSecond('acked', 'acked'), perSecond('delivered', 'delivered'), cpuCost],
    workload: () => ({ kind: 'qos1', window: QOS1_WINDOW, payloadBytes: PAYLOAD_BYTES }),
    measure: s => ({ acked: rate(s, 'acked'), delivered: rate(s, 'delivered'), cpu: cpuPer(s, 'acked') })
  },
  {
    name: 'latency',
    title: `latency at ${LATENCY_RATE.toLocaleString('en-US')} msg/s QoS 0: 1 publisher → 1 subscriber`,
    mode: 'load',
    metrics: [ms('p50', 'p50'), ms('p99', 'p99')],
    workload: (o) => ({
      kind: 'latency',
      ratePerSecond: LATENCY_RATE,
      payloadBytes: PAYLOAD_BYTES,
      // Room for warmup + window + slack; samples beyond are counted, not kept.
      maxSamples: Math.ceil(LATENCY_RATE * (o.warmupMs + o.durationMs + 2000) / 1000)
    }),
    measure: s => ({ p50: s.generator[1].latency?.p50 ?? Number.NaN, p99: s.generator[1].latency?.p99 ?? Number.NaN })
  },
  {
    name: 'memory',
    title: 'memory per idle connection',
    mode: 'memory',
    metrics: [kib('rss', 'RSS'), kib('heap', 'JS heap')],
    workload: (o) => ({ kind: 'idle', warmup: 50, connections: o.idleConnections, concurrency: 50 }),
    measure: (s) => {
      const [before, after] = s.broker
      const opened = (s.generator[1].counters.connected ?? 0) - (s.generator[0].counters.connected ?? 0)
      return {
        rss: (after.rss - before.rss) / 1024 / opened,
        heap: (after.heapUsed - before.heapUsed) / 1024 / opened
      }
    }
  }
]

/**
 * The persistence scenario: embedmq over TCP with each persistence provider
 * (memory, SQLite, Redis), reported as a ratio to memory. Its subscriber is a
 * persistent session (clean=false, QoS 1 subscription), either connected and
 * acking (deliveries pass through the session's outgoing state) or offline
 * (every message is queued for it). No targets: the ratios say what a
 * durable store costs.
 */
export const PERSISTENCE_VARIANTS: readonly Scenario[] = (['connected', 'offline'] as const).map((variant): Scenario => ({
  name: 'persistence',
  variant,
  title: variant === 'connected'
    ? `persistence, connected persistent session: QoS 1, ${QOS1_WINDOW} in flight, 1 publisher → 1 clean=false subscriber acking`
    : `persistence, offline persistent session: QoS 1, ${QOS1_WINDOW} in flight, 1 publisher → queued for 1 clean=false subscriber`,
  mode: 'load',
  metrics: [{ ...perSecond('acked', 'acked'), target: false }, cpuCost],
  workload: () => ({ kind: 'persistent-qos1', window: QOS1_WINDOW, payloadBytes: PAYLOAD_BYTES, subscriber: variant }),
  measure: s => ({ acked: rate(s, 'acked'), delivered: rate(s, 'delivered'), cpu: cpuPer(s, 'acked') })
}))
