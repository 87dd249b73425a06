/**
 * OEE (overall equipment effectiveness) over a sliding window, from the
 * machine's own reports: state changes for availability, part and scrap
 * counters for performance and quality. Pure arithmetic on timestamps the
 * caller passes, so it is tested with known inputs and no clock.
 */
import type { MachineState, OeeFigures } from '../../shared/topics.js'

/** What OEE is computed from, summed over the window (times in ms). */
export interface OeeInputs {
  /** Time in RUNNING. */
  runningMs: number
  /** Time the machine was meant to produce: everything seen except MAINTENANCE. */
  plannedMs: number
  /** Parts made (good and scrap). */
  parts: number
  scrap: number
  /** Parts the machine would have made running at its ideal rate for runningMs. */
  idealParts: number
}

interface StateSpan { state: MachineState, from: number }
interface CountEvent { ts: number, parts: number, scrap: number }

/**
 * One machine's history over the window. States are spans (a state holds
 * until the next one); counters become deltas, so a counter that goes down
 * (the machine process restarted and counts from zero) adds what it counted
 * since the restart instead of a negative number.
 */
export class MachineOeeTracker {
  #spans: StateSpan[] = []
  #counts: CountEvent[] = []
  #lastParts: number | undefined
  #lastScrap: number | undefined
  idealPartsPerMinute: number

  constructor (idealPartsPerMinute: number) {
    this.idealPartsPerMinute = idealPartsPerMinute
  }

  /** The state the machine reported most recently, if any. */
  get state (): MachineState | undefined {
    return this.#spans.at(-1)?.state
  }

  recordState (state: MachineState, ts: number): void {
    const last = this.#spans.at(-1)
    if (last?.state === state) return
    // Out-of-order reports (older than the current span) are ignored: spans stay sorted.
    if (last !== undefined && ts < last.from) return
    this.#spans.push({ state, from: ts })
  }

  /** Counters as the machine reports them (monotonic since its process started). */
  recordCounters (partCount: number, scrapCount: number, ts: number): void {
    if (!Number.isFinite(partCount) || !Number.isFinite(scrapCount) || partCount < 0 || scrapCount < 0) return
    if (this.#lastParts === undefined || this.#lastScrap === undefined) {
      // The first report is the baseline: parts made before the controller saw the machine are not in the window.
      this.#lastParts = partCount
      this.#lastScrap = scrapCount
      return
    }
    const reset = partCount < this.#lastParts || scrapCount < this.#lastScrap
    const parts = reset ? partCount : partCount - this.#lastParts
    const scrap = reset ? scrapCount : scrapCount - this.#lastScrap
    this.#lastParts = partCount
    this.#lastScrap = scrapCount
    if (parts > 0 || scrap > 0) this.#counts.push({ ts, parts, scrap })
  }

  /** Sums over [now - windowMs, now]; drops history older than the window. */
  inputs (now: number, windowMs: number): OeeInputs {
    const start = now - windowMs
    this.#prune(start)
    let runningMs = 0
    let plannedMs = 0
    this.#spans.forEach((span, i) => {
      const from = Math.max(span.from, start)
      const to = Math.min(this.#spans[i + 1]?.from ?? now, now)
      const ms = Math.max(0, to - from)
      if (span.state === 'RUNNING') runningMs += ms
      if (span.state !== 'MAINTENANCE') plannedMs += ms
    })
    let parts = 0
    let scrap = 0
    for (const c of this.#counts) {
      if (c.ts >= start && c.ts <= now) { parts += c.parts; scrap += c.scrap }
    }
    return { runningMs, plannedMs, parts, scrap: Math.min(scrap, parts), idealParts: this.idealPartsPerMinute * runningMs / 60_000 }
  }

  #prune (start: number): void {
    // Keep the span that covers the window's start.
    let keepFrom = 0
    while (keepFrom + 1 < this.#spans.length && this.#spans[keepFrom + 1]!.from <= start) keepFrom++
    if (keepFrom > 0) this.#spans.splice(0, keepFrom)
    const firstInWindow = this.#counts.findIndex(c => c.ts >= start)
    if (firstInWindow === -1) this.#counts.length = 0
    else if (firstInWindow > 0) this.#counts.splice(0, firstInWindow)
  }
}

/** Adds up several machines' inputs: a line's OEE weighs each machine by its time and parts. */
export function sumInputs (all: readonly OeeInputs[]): OeeInputs {
  return all.reduce((sum, i) => ({
    runningMs: sum.runningMs + i.runningMs,
    plannedMs: sum.plannedMs + i.plannedMs,
    parts: sum.parts + i.parts,
    scrap: sum.scrap + i.scrap,
    idealParts: sum.idealParts + i.idealParts
  }), { runningMs: 0, plannedMs: 0, parts: 0, scrap: 0, idealParts: 0 })
}

/**
 * availability = running / planned; performance = parts / ideal parts for the
 * running time, capped at 1 (the rate setpoint does not lower the ideal: running
 * slower than ideal is a performance loss); quality = good / parts.
 * With nothing to divide by: no planned time or no running time gives 0 (nothing
 * was produced), no parts gives quality 1 (nothing was scrapped).
 */
export function oeeFigures (inputs: OeeInputs, windowMs: number, ts: number): OeeFigures {
  const availability = inputs.plannedMs > 0 ? inputs.runningMs / inputs.plannedMs : 0
  const performance = inputs.idealParts > 0 ? Math.min(1, inputs.parts / inputs.idealParts) : 0
  const quality = inputs.parts > 0 ? (inputs.parts - inputs.scrap) / inputs.parts : 1
  return {
    availability: round(availability),
    performance: round(performance),
    quality: round(quality),
    oee: round(availability * performance * quality),
    windowSeconds: Math.round(windowMs / 1000),
    ts
  }
}

function round (value: number): number {
  return Math.round(value * 10_000) / 10_000
}
