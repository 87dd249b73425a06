/**
 * Turns trial results into medians, ratios and target checks, and renders
 * them as a console table, a markdown table and JSON.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Options } from './options.js'
import { BROKERS, PERSISTENCE_KINDS, TRANSPORTS, type BrokerKind, type PersistenceKind, type Transport } from './protocol.js'
import type { MetricDef, Scenario } from './scenarios.js'
import { advantage, median } from './stats.js'
import type { TrialResult } from './trial.js'

export type SeriesKey = `${BrokerKind}/${Transport}`
const SERIES: readonly SeriesKey[] = TRANSPORTS.flatMap(t => BROKERS.map(b => `${b}/${t}` as SeriesKey))

export interface TrialRecord {
  scenario: Scenario
  round: number
  broker: BrokerKind
  transport: Transport
  /** Persistence scenario only: the provider embedmq ran with. */
  provider?: PersistenceKind
  result?: TrialResult
  error?: string
}

/**
 * Ratios are oriented so that above 1 means the first named did better:
 * a/b for throughput, b/a for latency and memory.
 */
export interface Ratios {
  embedmqVsAedesTcp: number
  embedmqVsAedesWs: number
  embedmqWsVsTcp: number
  aedesWsVsTcp: number
}

export interface MetricResult extends MetricDef {
  rounds: Record<SeriesKey, number[]>
  median: Record<SeriesKey, number>
  ratios: Ratios
}

export interface ScenarioResult {
  name: string
  title: string
  metrics: MetricResult[]
  /** Median CPU over the measured window, % of one core. */
  generatorCpu: Record<SeriesKey, number>
  brokerCpu: Record<SeriesKey, number>
  warnings: string[]
}

/** One provider in one variant of the persistence scenario; ratios are to the memory provider, above 1 = better than memory. */
export interface PersistenceRow {
  variant: string
  provider: PersistenceKind
  /** Every round's value, in run order. */
  rounds: { acked: number[], cpu: number[] }
  /** Median PUBACKs/s at the publisher. */
  acked: number
  /** Median broker CPU µs per acked message. */
  cpu: number
  /** acked ÷ memory's acked. */
  ackedVsMemory: number
  /** memory's CPU per message ÷ this one's (below 1: this provider costs more CPU per message). */
  cpuVsMemory: number
  /** Median CPU over the window, % of one core. */
  brokerCpu: number
  generatorCpu: number
}

export interface PersistenceResult {
  title: string
  rows: PersistenceRow[]
  warnings: string[]
}

export interface TargetCheck {
  scenario: string
  metric: string
  comparison: string
  target: number
  value: number
  met: boolean
}

export interface Report {
  generatedAt: string
  elapsedSeconds: number
  environment: { node: string, platform: string, arch: string, cpus: number, cpuModel: string, loadAverage: { start: number, end: number } }
  options: Options
  setup: Record<string, string>
  scenarios: ScenarioResult[]
  /** Present when the persistence scenario ran. */
  persistence?: PersistenceResult
  targets: TargetCheck[]
  /** Every trial as measured, in run order. */
  trials: Array<{ scenario: string, variant?: string, provider?: PersistenceKind, round: number, broker: BrokerKind, transport: Transport } & Partial<TrialResult> & { error?: string }>
}

export const SETUP: Record<string, string> = {
  embedmq: '@embedmq/core with TCP + WS listeners, allowAnonymous false, 3 plugins (authenticator; ACL authorizer checking the "bench/" prefix on every publish and subscribe; counting connection listener + pass-through publish interceptor), authorization cache at its default (on)',
  aedes: 'aedes 1.2.0 bare: net.createServer(aedes.handle); ws WebSocketServer({ server }) + createWebSocketStream(socket) → aedes.handle(stream, req)',
  generator: 'own load generator in a child process: mqtt-packet generate, in-place framing of inbound PUBLISH/PUBACK, minimal RFC 6455 client (one MQTT packet per WebSocket frame)',
  processes: 'each trial: a fresh broker process and a fresh generator process, both killed afterwards; trials alternate embedmq, aedes per transport within each round',
  payload: '64-byte payloads; QoS 0 publishers write batches of 32 packets with socket backpressure',
  persistence: 'embedmq (same listeners and plugins) over TCP with each persistence provider: memory (default), @embedmq/persistence-sqlite (fresh temp file per trial, options at their defaults: synchronous full), @embedmq/persistence-redis (redis://127.0.0.1:6379, fresh random key prefix per trial, keys deleted after the trial); subscriber is a clean=false session with a QoS 1 subscription, connected and acking or offline (queued)'
}

function bySeries<T> (make: (key: SeriesKey) => T): Record<SeriesKey, T> {
  return Object.fromEntries(SERIES.map(k => [k, make(k)])) as Record<SeriesKey, T>
}

function recordWarnings (records: readonly TrialRecord[], where: (r: TrialRecord) => string): string[] {
  return records.flatMap(r => [...(r.error ? [`${where(r)}: FAILED: ${r.error}`] : []), ...(r.result?.warnings ?? []).map(w => `${where(r)}: ${w}`)])
}

/** The persistence scenario's rows, from its records (those with a provider); undefined when it did not run. */
export function buildPersistence (records: readonly TrialRecord[]): PersistenceResult | undefined {
  const mine = records.filter(r => r.provider !== undefined)
  if (mine.length === 0) return undefined
  const variants = [...new Set(mine.map(r => r.scenario.variant ?? ''))]
  const rows = variants.flatMap(variant => {
    const of = (provider: PersistenceKind): TrialRecord[] => mine.filter(r => (r.scenario.variant ?? '') === variant && r.provider === provider)
    const values = (provider: PersistenceKind, pick: (r: TrialResult) => number): number[] => of(provider).map(r => (r.result ? pick(r.result) : Number.NaN))
    const acked = (provider: PersistenceKind): number => median(values(provider, r => r.metrics.acked ?? Number.NaN))
    const cpu = (provider: PersistenceKind): number => median(values(provider, r => r.metrics.cpu ?? Number.NaN))
    return PERSISTENCE_KINDS.filter(p => of(p).length > 0).map((provider): PersistenceRow => ({
      variant,
      provider,
      rounds: { acked: values(provider, r => r.metrics.acked ?? Number.NaN), cpu: values(provider, r => r.metrics.cpu ?? Number.NaN) },
      acked: acked(provider),
      cpu: cpu(provider),
      ackedVsMemory: advantage(acked(provider), acked('memory'), 'higher'),
      cpuVsMemory: advantage(cpu(provider), cpu('memory'), 'lower'),
      brokerCpu: median(values(provider, r => r.brokerCpu)),
      generatorCpu: median(values(provider, r => r.generatorCpu))
    }))
  })
  return {
    title: 'persistence: embedmq over TCP, QoS 1 with 64 in flight to a persistent session (clean=false), per provider',
    rows,
    warnings: recordWarnings(mine, r => `round ${r.round} ${r.scenario.variant ?? ''}/${r.provider ?? ''}`)
  }
}

export function buildReport (records: readonly TrialRecord[], scenarios: readonly Scenario[], options: Options, elapsedSeconds: number, loadAtStart: number): Report {
  const results: ScenarioResult[] = scenarios.map((scenario) => {
    const mine = records.filter(r => r.scenario.name === scenario.name && r.provider === undefined)
    const of = (key: SeriesKey): TrialRecord[] => mine.filter(r => `${r.broker}/${r.transport}` === key)
    const metrics = scenario.metrics.map((def): MetricResult => {
      const rounds = bySeries(k => of(k).map(r => r.result?.metrics[def.id] ?? Number.NaN))
      const med = bySeries(k => median(rounds[k]))
      return {
        ...def,
        rounds,
        median: med,
        ratios: {
          embedmqVsAedesTcp: advantage(med['embedmq/tcp'], med['aedes/tcp'], def.better),
          embedmqVsAedesWs: advantage(med['embedmq/ws'], med['aedes/ws'], def.better),
          embedmqWsVsTcp: advantage(med['embedmq/ws'], med['embedmq/tcp'], def.better),
          aedesWsVsTcp: advantage(med['aedes/ws'], med['aedes/tcp'], def.better)
        }
      }
    })
    const warnings = recordWarnings(mine, r => `round ${r.round} ${r.broker}/${r.transport}`)
    return {
      name: scenario.name,
      title: scenario.title,
      metrics,
      generatorCpu: bySeries(k => median(of(k).map(r => r.result?.generatorCpu ?? Number.NaN))),
      brokerCpu: bySeries(k => median(of(k).map(r => r.result?.brokerCpu ?? Number.NaN))),
      warnings
    }
  })
  const targets = results.flatMap(s => s.metrics.filter(m => m.target).flatMap((m): TargetCheck[] => {
    const check = (comparison: string, target: number, value: number): TargetCheck =>
      ({ scenario: s.name, metric: m.label, comparison, target, value, met: value >= target })
    return [
      check('embedmq vs aedes, TCP', 1, m.ratios.embedmqVsAedesTcp),
      check('embedmq vs aedes, WS', 1, m.ratios.embedmqVsAedesWs),
      check('embedmq WS vs TCP', 0.8, m.ratios.embedmqWsVsTcp)
    ]
  }))
  const persistence = buildPersistence(records)
  return {
    generatedAt: new Date().toISOString(),
    elapsedSeconds,
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? Number.NaN }
    },
    options,
    setup: SETUP,
    scenarios: results,
    ...(persistence ? { persistence } : {}),
    targets,
    trials: records.map(r => ({
      scenario: r.scenario.name,
      ...(r.scenario.variant ? { variant: r.scenario.variant } : {}),
      ...(r.provider ? { provider: r.provider } : {}),
      round: r.round, broker: r.broker, transport: r.transport, ...r.result, ...(r.error ? { error: r.error } : {})
    }))
  }
}

// ---- rendering ----

function num (value: number, decimals: number): string {
  if (!Number.isFinite(value)) return '—'
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
}

const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—')

const HEADER = ['scenario', 'metric', 'embedmq TCP', 'aedes TCP', 'emq/aedes TCP', 'embedmq WS', 'aedes WS', 'emq/aedes WS', 'emq WS/TCP', 'aedes WS/TCP']

function rows (report: Report): string[][] {
  return report.scenarios.flatMap(s => s.metrics.map(m => [
    s.name,
    `${m.label} (${m.unit})`,
    num(m.median['embedmq/tcp'], m.decimals),
    num(m.median['aedes/tcp'], m.decimals),
    ratio(m.ratios.embedmqVsAedesTcp),
    num(m.median['embedmq/ws'], m.decimals),
    num(m.median['aedes/ws'], m.decimals),
    ratio(m.ratios.embedmqVsAedesWs),
    ratio(m.ratios.embedmqWsVsTcp),
    ratio(m.ratios.aedesWsVsTcp)
  ]))
}

const CPU_HEADER = ['scenario', 'generator CPU % (e/a TCP, e/a WS)', 'broker CPU % (e/a TCP, e/a WS)']

function cpuRows (report: Report): string[][] {
  const four = (r: Record<SeriesKey, number>): string =>
    `${num(r['embedmq/tcp'], 0)} / ${num(r['aedes/tcp'], 0)}, ${num(r['embedmq/ws'], 0)} / ${num(r['aedes/ws'], 0)}`
  return report.scenarios.filter(s => s.name !== 'memory').map(s => [s.name, four(s.generatorCpu), four(s.brokerCpu)])
}

const PERSISTENCE_HEADER = ['persistence', 'provider', 'acked (msg/s)', 'vs memory', 'broker CPU (µs/msg)', 'vs memory', 'broker CPU %']

function persistenceRows (report: Report): string[][] {
  return (report.persistence?.rows ?? []).map(r => [
    r.variant === 'offline' ? 'offline session (queued)' : 'connected session',
    r.provider,
    num(r.acked, 0),
    ratio(r.ackedVsMemory),
    num(r.cpu, 2),
    ratio(r.cpuVsMemory),
    num(r.brokerCpu, 0)
  ])
}

function textTable (header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map(r => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

function markdownTable (header: string[], body: string[][]): string {
  const align = header.map((_, i) => (i < 2 ? ':--' : '--:'))
  return [header, align, ...body].map(r => `| ${r.join(' | ')} |`).join('\n')
}

function targetLines (report: Report, met: string, missed: string): string[] {
  return report.targets.map(t => `${t.met ? met : missed} ${t.scenario} ${t.metric}: ${t.comparison} ${ratio(t.value)} (target ≥ ${t.target.toFixed(1)}×)`)
}

function warningLines (report: Report): string[] {
  return [
    ...report.scenarios.flatMap(s => s.warnings.map(w => `${s.name} ${w}`)),
    ...(report.persistence?.warnings ?? []).map(w => `persistence ${w}`)
  ]
}

function runLine (report: Report): string {
  const o = report.options
  const e = report.environment
  return `${o.rounds} round(s), ${o.warmupMs} ms warmup + ${o.durationMs} ms window per trial, ${o.idleConnections} idle connections; ` +
    `Node ${e.node}, ${e.cpus} × ${e.cpuModel}, load average ${e.loadAverage.start.toFixed(1)} → ${e.loadAverage.end.toFixed(1)}; ` +
    `${report.elapsedSeconds.toFixed(0)} s; ${report.generatedAt}`
}

const PERSISTENCE_NOTE = 'Persistence ratios are to the memory provider in the same run: above 1 = better than memory (throughput provider/memory; CPU per message memory/provider). No targets.'

export function renderConsole (report: Report): string {
  const warnings = warningLines(report)
  const brokers = report.scenarios.length > 0
  return [
    ...(brokers
      ? ['', textTable(HEADER, rows(report)), '', textTable(CPU_HEADER, cpuRows(report)), '',
          'Ratios: above 1 means the first named did better (throughput a/b; latency and memory b/a).',
          ...targetLines(report, '  met   ', '  MISSED')]
      : []),
    ...(report.persistence ? ['', textTable(PERSISTENCE_HEADER, persistenceRows(report)), '', PERSISTENCE_NOTE] : []),
    ...(warnings.length > 0 ? ['', 'Warnings:', ...warnings.map(w => `  ${w}`)] : []),
    '',
    runLine(report)
  ].join('\n')
}

export function renderMarkdown (report: Report): string {
  const warnings = warningLines(report)
  const brokers = report.scenarios.length > 0
  return [
    `Medians of ${runLine(report)}.`,
    ...(brokers
      ? ['', markdownTable(HEADER, rows(report)), '',
          'Ratios: above 1× means the first named did better (throughput: a/b; latency and memory: b/a). Targets: embedmq vs aedes ≥ 1.0×, embedmq WS vs TCP ≥ 0.8×.',
          '', markdownTable(CPU_HEADER, cpuRows(report)), '', ...targetLines(report, '- ✅', '- ❌')]
      : []),
    ...(report.persistence ? ['', markdownTable(PERSISTENCE_HEADER, persistenceRows(report)), '', PERSISTENCE_NOTE] : []),
    ...(warnings.length > 0 ? ['', 'Warnings:', '', ...warnings.map(w => `- ${w}`)] : []),
    ''
  ].join('\n')
}

/** Writes latest.json and latest.md; a partial write never replaces a good file (write then rename). */
export async function writeReport (report: Report, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const files: Array<[string, string]> = [
    ['latest.json', `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`],
    ['latest.md', renderMarkdown(report)]
  ]
  const written: string[] = []
  for (const [name, text] of files) {
    const target = path.join(dir, name)
    await writeFile(`${target}.tmp`, text)
    await rename(`${target}.tmp`, target)
    written.push(target)
  }
  return written
}
