/**
 * Messages between the orchestrator (main.ts) and its two kinds of child
 * processes: a broker under test (broker-process.ts) and a load generator
 * (generator.ts). Both ends are this package, so the shapes are trusted once
 * `isMessage` has checked there is a `type`.
 */

export type BrokerKind = 'embedmq' | 'aedes'
export type Transport = 'tcp' | 'ws'

/** Credentials every generator client presents (bare aedes ignores them). */
export const BENCH_USERNAME = 'bench'
export const BENCH_PASSWORD = 'bench-secret'
/** The ACL: clients may publish and subscribe under this prefix only. */
export const TOPIC_PREFIX = 'bench/'

export const BROKERS: readonly BrokerKind[] = ['embedmq', 'aedes']

/** embedmq's persistence providers compared by the persistence scenario; memory is the default and the baseline. */
export type PersistenceKind = 'memory' | 'sqlite' | 'redis'
export const PERSISTENCE_KINDS: readonly PersistenceKind[] = ['memory', 'sqlite', 'redis']

/**
 * Where a broker process keeps its state: chosen by the orchestrator (a fresh
 * temp file or Redis key prefix per trial, so no trial sees another's
 * sessions) and cleaned up by it after the broker is killed.
 */
export type PersistenceConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite', file: string }
  | { kind: 'redis', url: string, keyPrefix: string }
export const TRANSPORTS: readonly Transport[] = ['tcp', 'ws']

/** Where a generator connects: loopback only. */
export interface Endpoint {
  transport: Transport
  host: string
  port: number
  /** URL path of the WebSocket endpoint ('' for TCP). */
  path: string
}

export interface CpuTimes { user: number, system: number }

// ---- broker process ----

export type BrokerRequest =
  | { type: 'sample', gc: boolean }
  /** Exit normally, so that --cpu-prof writes its profile. */
  | { type: 'exit' }

export type BrokerReply =
  | { type: 'ready', kind: BrokerKind, endpoints: Record<Transport, Endpoint> }
  | { type: 'sample', at: number, cpu: CpuTimes, rss: number, heapUsed: number, external: number, dropped: number }
  | { type: 'error', message: string }

export type BrokerSample = Extract<BrokerReply, { type: 'sample' }>

// ---- load generator ----

/** What one generator run does; each kind is one scenario's traffic shape. */
export type Workload =
  | { kind: 'fan-in', publishers: number, payloadBytes: number, batch: number }
  | { kind: 'fan-out', subscribers: number, payloadBytes: number, batch: number }
  | { kind: 'qos1', window: number, payloadBytes: number }
  /** Like qos1, but the subscriber is a persistent session (clean=false), connected and acking, or offline (messages are queued). */
  | { kind: 'persistent-qos1', window: number, payloadBytes: number, subscriber: 'connected' | 'offline' }
  | { kind: 'latency', ratePerSecond: number, payloadBytes: number, maxSamples: number }
  | { kind: 'idle', warmup: number, connections: number, concurrency: number }

export type GeneratorRequest =
  | { type: 'prepare', endpoint: Endpoint, workload: Workload }
  | { type: 'start' }
  | { type: 'mark' }

export interface LatencySummary { count: number, p50: number, p99: number, max: number }

/** Cumulative counters at one instant, plus latencies seen since the previous mark. */
export interface Snapshot {
  at: number
  cpu: CpuTimes
  counters: Record<string, number>
  latency?: LatencySummary
}

export type GeneratorReply =
  | { type: 'prepared', connections: number, connectMs: number }
  | { type: 'started' }
  | { type: 'mark', snapshot: Snapshot }
  | { type: 'error', message: string }

export function isMessage (value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
}

export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
