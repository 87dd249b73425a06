/**
 * Turns samples into the printed report: the table, the memory verdict, the
 * QoS accounting and the slow-client impact. Pure functions of the data, so
 * the verdict logic can be read (and tested) apart from the processes.
 */
import type { SoakOptions } from './args.js'
import type { Mix } from './plan.js'
import {
  emptyDeliveryByQos, emptyPerQos,
  type BrokerSample, type DeliveryByQos, type IntervalStats, type LoadResult, type PerQos, type Phase
} from './protocol.js'
import { Histogram, linearFit, median } from './stats.js'

/** One tick: the broker's latest sample and every generator's interval, merged. */
export interface Row {
  /** Seconds since load started. */
  t: number
  seconds: number
  phase: Phase
  broker: BrokerSample | undefined
  published: PerQos
  accepted: PerQos
  skipped: number
  received: PerQos
  persistentReceived: number
  latency: Histogram
  flapConnects: number
  unexpectedDisconnects: number
  errors: number
  persistentOnline: number
  slowOpen: number
  generatorLoopP99Ms: number
  generatorCpuPct: number
  /** Host 1-minute load average at the tick: above the CPU count, everything (broker included) waits for CPU. */
  hostLoad: number
}

const sum3 = (a: PerQos): number => a[0] + a[1] + a[2]
const add3 = (a: PerQos, b: PerQos): PerQos => [a[0] + b[0], a[1] + b[1], a[2] + b[2]]

export function mergeRow (t: number, seconds: number, phase: Phase, broker: BrokerSample | undefined, intervals: readonly IntervalStats[], hostLoad: number): Row {
  const row: Row = {
    t, seconds, phase, broker, hostLoad,
    published: emptyPerQos(), accepted: emptyPerQos(), skipped: 0, received: emptyPerQos(), persistentReceived: 0,
    latency: new Histogram(), flapConnects: 0, unexpectedDisconnects: 0, errors: 0, persistentOnline: 0, slowOpen: 0, generatorLoopP99Ms: 0, generatorCpuPct: 0
  }
  for (const s of intervals) {
    row.published = add3(row.published, s.published)
    row.accepted = add3(row.accepted, s.accepted)
    row.received = add3(row.received, s.received)
    row.skipped += s.skipped
    row.persistentReceived += s.persistentReceived
    row.latency.merge(s.latency)
    row.flapConnects += s.flapConnects
    row.unexpectedDisconnects += s.unexpectedDisconnects
    row.errors += s.errors
    row.persistentOnline += s.persistentOnline
    row.slowOpen += s.slowOpen
    row.generatorLoopP99Ms = Math.max(row.generatorLoopP99Ms, s.generatorLoopP99Ms)
    row.generatorCpuPct = Math.max(row.generatorCpuPct, s.generatorCpuPct)
  }
  return row
}

const MB = 1024 * 1024
const mb = (bytes: number): string => (bytes / MB).toFixed(1)
const ms = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0))
const rate = (n: number, seconds: number): string => (seconds > 0 ? Math.round(n / seconds).toString() : '-')
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`

function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function samplesTable (rows: readonly Row[]): string {
  const header = ['t s', 'phase', 'rss MB', 'heap MB', 'heap floor', 'live heap', 'major gc', 'cpu %', 'loop p99', 'conns', 'slow held',
    'pub/s', 'acked/s', 'skip/s', 'recv/s', 'p50 ms', 'p99 ms', 'max ms', 'gen cpu %', 'gen loop', 'host load']
  return table(header, rows.map(r => {
    const b = r.broker
    return [
      r.t.toFixed(0), r.phase,
      b ? mb(b.rss) : '-', b ? mb(b.heapUsed) : '-', b ? mb(b.heapFloor) : '-', b ? mb(b.liveHeap) : '-', b ? String(b.majorGcs) : '-',
      b ? b.cpuPct.toFixed(0) : '-',
      b ? ms(b.loopDelayP99Ms) : '-', b ? String(b.connections) : '-', b ? String(b.slowHeld) : '-',
      rate(sum3(r.published), r.seconds), rate(sum3(r.accepted), r.seconds), rate(r.skipped, r.seconds), rate(sum3(r.received), r.seconds),
      ms(r.latency.quantile(0.5)), ms(r.latency.quantile(0.99)), r.latency.count > 0 ? ms(r.latency.maxMs) : '-', r.generatorCpuPct.toFixed(0), ms(r.generatorLoopP99Ms), r.hostLoad.toFixed(1)
    ]
  }))
}

export interface MemoryVerdict {
  /** undefined: too few samples to say. */
  levelsOff: boolean | undefined
  text: string
}

/**
 * Does a memory series level off? Fits a line to the first and the second
 * half of the run (MB/min). It levels off when the second half's slope is
 * within its own noise (twice its standard error, at least 0.25 MB/min);
 * otherwise it keeps growing at that slope. Peak and final level are set
 * against the level right after warm-up, for a sense of scale.
 */
export function memoryVerdict (name: string, points: ReadonlyArray<{ t: number, bytes: number }>, warmupSec: number): MemoryVerdict {
  if (points.length < 6) return { levelsOff: undefined, text: `${name}: too few samples (${points.length}) to judge; run longer` }
  const series = points.map(p => ({ x: p.t / 60, y: p.bytes / MB }))
  const first = series[0]!.x
  const last = series[series.length - 1]!.x
  const mid = (first + last) / 2
  const fit1 = linearFit(series.filter(p => p.x <= mid))
  const fit2 = linearFit(series.filter(p => p.x >= mid))
  if (!fit1 || !fit2) return { levelsOff: undefined, text: `${name}: too few samples to fit; run longer` }
  const afterWarmup = series.filter(p => p.x * 60 >= warmupSec).slice(0, 3).map(p => p.y)
  const warm = median(afterWarmup.length > 0 ? afterWarmup : series.slice(0, 3).map(p => p.y)) ?? 0
  const peak = Math.max(...series.map(p => p.y))
  const final = median(series.slice(-3).map(p => p.y)) ?? 0
  const noise = Math.max(0.25, 2 * (Number.isFinite(fit2.slopeStdErr) ? fit2.slopeStdErr : 0))
  const scale = `peak ${peak.toFixed(1)} MB, ${((peak / warm - 1) * 100).toFixed(0)}% above the post-warm-up level ${warm.toFixed(1)} MB; final ${final.toFixed(1)} MB`
  const slopes = `slope first half ${signed(fit1.slope)} MB/min, second half ${signed(fit2.slope)} MB/min (noise ±${noise.toFixed(2)})`
  if (fit2.slope <= noise) return { levelsOff: true, text: `${name}: levels off — ${slopes}; ${scale}` }
  return {
    levelsOff: false,
    text: `${name}: keeps growing: ${fit2.slope.toFixed(2)} MB/min over the second half (~${(fit2.slope * 60).toFixed(0)} MB/hour) — ${slopes}; ${scale}`
  }
}

export interface SlowImpact {
  hurt: boolean | undefined
  text: string
}

/**
 * Did the slow (non-reading) clients hurt everyone else? Compares the
 * baseline phase (before they connect, after the first warm-up interval)
 * with the phase after: latency to well-behaved
 * subscribers, their delivery rate, and intervals where delivery stalled
 * (publishers published but subscribers got under 10% of the baseline rate).
 * Hurt = the typical interval p99 more than doubled (and by > 20 ms), the
 * delivered rate fell by a quarter, or any interval stalled.
 */
export function slowImpact (rows: readonly Row[]): SlowImpact {
  const base = rows.filter(r => r.phase === 'baseline')
  const slow = rows.filter(r => r.phase === 'slow')
  if (base.length === 0 || slow.length === 0) return { hurt: undefined, text: 'no baseline or no slow-phase intervals to compare (run longer, or slow clients were skipped)' }
  const summarize = (rs: readonly Row[]): { p50?: number, p99?: number, typicalP99?: number, max: number, recvRate: number, ackRate: number } => {
    const h = new Histogram()
    for (const r of rs) h.merge(r.latency)
    const seconds = rs.reduce((n, r) => n + r.seconds, 0)
    const p50 = h.quantile(0.5)
    const p99 = h.quantile(0.99)
    // The median of the intervals' p99s: one interval where the host starved everyone moves the pooled p99, not this.
    const typicalP99 = median(rs.map(r => r.latency.quantile(0.99)).filter((v): v is number => v !== undefined))
    return {
      ...(p50 === undefined ? {} : { p50 }), ...(p99 === undefined ? {} : { p99 }), ...(typicalP99 === undefined ? {} : { typicalP99 }),
      max: h.maxMs,
      recvRate: rs.reduce((n, r) => n + sum3(r.received), 0) / seconds,
      ackRate: rs.reduce((n, r) => n + sum3(r.accepted), 0) / seconds
    }
  }
  const b = summarize(base)
  const s = summarize(slow)
  const stalled = slow.filter(r => sum3(r.published) > 0 && sum3(r.received) / r.seconds < 0.1 * b.recvRate).length
  const p99Worse = b.typicalP99 !== undefined && (s.typicalP99 === undefined || (s.typicalP99 > 2 * b.typicalP99 && s.typicalP99 - b.typicalP99 > 20))
  const rateDrop = b.recvRate > 0 && s.recvRate < 0.75 * b.recvRate
  const hurt = p99Worse || rateDrop || stalled > 0
  const text = `${hurt ? 'slow clients HURT the others' : 'slow clients did not hurt the others'}: ` +
    `latency p50 ${ms(b.p50)} → ${ms(s.p50)} ms, p99 ${ms(b.p99)} → ${ms(s.p99)} ms (typical interval p99 ${ms(b.typicalP99)} → ${ms(s.typicalP99)} ms), ` +
    `max ${ms(b.max)} → ${ms(s.max)} ms; ` +
    `delivered ${Math.round(b.recvRate)} → ${Math.round(s.recvRate)} msg/s, broker acks ${Math.round(b.ackRate)} → ${Math.round(s.ackRate)} msg/s; ` +
    `${stalled} of ${slow.length} slow-phase intervals stalled`
  return { hurt, text }
}

export interface Accounting {
  alwaysOn: DeliveryByQos
  persistent: DeliveryByQos
  published: PerQos
  unacked: PerQos
  results: LoadResult[]
}

export function sumResults (results: readonly LoadResult[]): { alwaysOn: DeliveryByQos, persistent: DeliveryByQos } {
  const alwaysOn = emptyDeliveryByQos()
  const persistent = emptyDeliveryByQos()
  for (const r of results) {
    for (const [into, from] of [[alwaysOn, r.alwaysOn], [persistent, r.persistent]] as const) {
      for (let q = 0; q < 3; q++) {
        const a = into[q]!
        const f = from[q]!
        a.expected += f.expected
        a.received += f.received
        a.missing += f.missing
        a.duplicates += f.duplicates
      }
    }
  }
  return { alwaysOn, persistent }
}

export function deliveryTable (a: Accounting): string {
  const rows: string[][] = []
  for (let q = 0; q < 3; q++) {
    const on = a.alwaysOn[q]!
    const pe = a.persistent[q]!
    rows.push([
      `QoS ${q}`, String(a.published[q]), String(a.unacked[q]),
      String(on.expected), String(on.received), String(on.missing), String(on.duplicates),
      q === 0 ? 'n/a' : String(pe.expected), q === 0 ? 'n/a' : String(pe.received), q === 0 ? 'n/a' : String(pe.missing), q === 0 ? 'n/a' : String(pe.duplicates)
    ])
  }
  return table(['delivered as', 'published', 'never acked', 'always-on owed', 'got', 'lost', 'dups', 'persistent owed', 'got', 'lost', 'dups'], rows)
}

export function lostQos12 (a: { alwaysOn: DeliveryByQos, persistent: DeliveryByQos }): number {
  return a.alwaysOn[1].missing + a.alwaysOn[2].missing + a.persistent[1].missing + a.persistent[2].missing
}

export function describeRun (options: SoakOptions, mix: Mix, baselineSec: number): string {
  const total = mix.publishers + mix.subscribers + mix.persistent + mix.slow + mix.flappers + mix.idle
  return `embedmq soak: ${options.minutes} min, ${total} clients (${mix.publishers} publishers, ${mix.subscribers} subscribers, ` +
    `${mix.persistent} persistent, ${mix.slow} slow, ${mix.flappers} flapping, ${mix.idle} idle) over TCP and WS, ` +
    `target ${options.rate} msg/s, seed ${options.seed}, ${options.generators} generator process(es)` +
    (options.skip.length > 0 ? `, skipping ${options.skip.join(', ')}` : '') +
    (mix.slow > 0 ? `; slow clients join at ${baselineSec.toFixed(0)} s` : '')
}

/** Latency to always-on subscribers by transport and delivered QoS, before and after slow clients joined. */
export function latencyTable (results: readonly LoadResult[]): string {
  const merged = new Map<string, Histogram>()
  for (const r of results) {
    for (const [key, data] of Object.entries(r.latency)) {
      const h = merged.get(key) ?? new Histogram()
      h.merge(data)
      merged.set(key, h)
    }
  }
  const rows: string[][] = []
  for (const transport of ['tcp', 'ws']) {
    for (const q of [0, 1, 2]) {
      const cells = [`${transport} QoS ${q}`]
      for (const phase of ['baseline', 'slow']) {
        const h = merged.get(`${phase} ${transport} q${q}`)
        cells.push(h ? String(h.count) : '0', ms(h?.quantile(0.5)), ms(h?.quantile(0.99)), h && h.count > 0 ? ms(h.maxMs) : '-')
      }
      rows.push(cells)
    }
  }
  return table(['subscriber link', 'baseline n', 'p50 ms', 'p99 ms', 'max ms', 'slow-phase n', 'p50 ms', 'p99 ms', 'max ms'], rows)
}

/** A warning when the host was busier than its CPUs: latency then measures the queue for CPU, not the broker. */
export function hostNote (rows: readonly Row[], cpus: number): { text: string, oversubscribed: boolean } | undefined {
  if (rows.length === 0) return undefined
  const loads = rows.map(r => r.hostLoad)
  const max = Math.max(...loads)
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length
  const text = `host: ${cpus} CPUs, 1-min load average ${mean.toFixed(1)} mean / ${max.toFixed(1)} max during the run (soak processes included)`
  // The soak itself keeps ~3 processes busy; well above the CPU count, something else competes.
  const oversubscribed = mean > cpus + 1
  return { text: oversubscribed ? `${text} — the host was oversubscribed: latency and loop delay include waiting for CPU, not only broker work` : text, oversubscribed }
}
