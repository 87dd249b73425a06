/**
 * IPC messages between the orchestrator (main.ts) and its children. The
 * children are ours, so a message is trusted once its `type` is known.
 */
import type { LoadPlan, Transport } from './plan.js'
import type { HistogramData } from './stats.js'

export interface BrokerSample {
  /** Epoch ms. */
  at: number
  rss: number
  heapUsed: number
  /** Lowest heapUsed seen in the sampling window: close to the live heap after GC. */
  heapFloor: number
  /** heapUsed right after the latest major GC (carried forward while none happens): the live heap. */
  liveHeap: number
  /** Major GCs in the window. */
  majorGcs: number
  external: number
  connections: number
  /** Slow (non-reading) clients the broker still holds: shows whether it lets go of them. */
  slowHeld: number
  /** Broker process CPU over the window, % of one core. */
  cpuPct: number
  loopDelayP99Ms: number
  loopDelayMaxMs: number
}

export type BrokerChildMessage =
  | { type: 'ready', addresses: Array<{ transport: Transport | 'tls' | 'wss', port: number, url: string }> }
  | { type: 'sample', sample: BrokerSample }
  | { type: 'fatal', message: string }
  | { type: 'stopped' }

export type BrokerCommand = { type: 'stop' }

/** The first interval (connections and JIT warming up), then before slow clients connect, and after. */
export type Phase = 'warmup' | 'baseline' | 'slow'

/** Per-QoS counters, index = QoS. */
export type PerQos = [number, number, number]

/** What a generator saw since the previous tick. */
export interface IntervalStats {
  /** Publishes handed to the client library. */
  published: PerQos
  /** QoS 0 written to the socket, QoS 1/2 acknowledged by the broker. */
  accepted: PerQos
  /** Publishes not made because the publisher had maxOutstanding unacknowledged (backpressure). */
  skipped: number
  /** New (not duplicate) deliveries to always-on subscribers, by delivered QoS. */
  received: PerQos
  persistentReceived: number
  /** Delivery latency to always-on subscribers. */
  latency: HistogramData
  flapConnects: number
  willsReceived: number
  unexpectedDisconnects: number
  errors: number
  persistentOnline: number
  /** Slow clients this generator has open (it cannot tell whether the broker already dropped one). */
  slowOpen: number
  generatorLoopP99Ms: number
  /** This generator's CPU over the interval, % of one core: near 100 means it, not the broker, is the bottleneck. */
  generatorCpuPct: number
}

/** One publisher stream at the end: seqs 0..sent-1 were published; `unacked` never got their ack (or write). */
export interface StreamFinal {
  topic: string
  qos: 0 | 1 | 2
  sent: number
  unacked: number[]
}

export interface DeliveryCount {
  /** Messages the subscribers should have had (acknowledged publishes on matching streams). */
  expected: number
  received: number
  missing: number
  duplicates: number
}

/** Index = delivered QoS (min of publish and subscription QoS). */
export type DeliveryByQos = [DeliveryCount, DeliveryCount, DeliveryCount]

export interface LoadResult {
  alwaysOn: DeliveryByQos
  persistent: DeliveryByQos
  /** QoS 1/2 losses by "<kind> publish QoS p → subscription QoS s". */
  lostByLink: Record<string, number>
  /** A few missing messages, "topic#seq -> client", for diagnosis. */
  missingExamples: string[]
  willsExpected: number
  willsReceived: number
  flapCycles: number
  persistentCycles: number
  /** Reconnects where the broker said it had no session for a clean=false client. */
  sessionsLost: number
  slowCycles: number
  /** Latency to always-on subscribers over the whole run, keyed "<phase> <transport> q<qos>". */
  latency: Record<string, HistogramData>
  unexpectedDisconnects: number
  errorExamples: string[]
}

export type LoadCommand =
  | { type: 'setup', plan: LoadPlan }
  | { type: 'go' }
  | { type: 'slow-start' }
  | { type: 'tick' }
  | { type: 'quiesce', timeoutMs: number }
  | { type: 'collect', streams: StreamFinal[], quietMs: number, timeoutMs: number }
  | { type: 'shutdown' }

export type LoadChildMessage =
  | { type: 'ready' }
  | { type: 'interval', stats: IntervalStats }
  | { type: 'quiesced', streams: StreamFinal[], drained: boolean, outstanding: number }
  | { type: 'result', result: LoadResult }
  | { type: 'fatal', message: string }

/** Narrows an IPC payload to a message with a string `type`. */
export function hasType (value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
}

export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message
  return String(err)
}

export const emptyPerQos = (): PerQos => [0, 0, 0]
export const emptyDelivery = (): DeliveryCount => ({ expected: 0, received: 0, missing: 0, duplicates: 0 })
export const emptyDeliveryByQos = (): DeliveryByQos => [emptyDelivery(), emptyDelivery(), emptyDelivery()]
