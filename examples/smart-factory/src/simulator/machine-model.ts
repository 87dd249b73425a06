/**
 * One machine's behaviour, with no I/O: a state machine driven by commands and
 * by chance (faults, micro-stops), and believable telemetry. Time comes in as
 * arguments and chance from a seeded Random, so a run replays exactly.
 */
import type { MachineSpec } from '../shared/plant.js'
import type { Command, CommandAck, MachineAlarm, MachineState, MachineStateMessage, Telemetry } from '../shared/topics.js'
import { AMBIENT_TEMPERATURE, KIND_PROFILES, type FaultProfile, type KindProfile } from './machine-profiles.js'
import type { Random } from './random.js'

/** The states the model itself can be in; OFFLINE belongs to the connection, not the machine. */
export type ModelState = Exclude<MachineState, 'OFFLINE'>

/**
 * Allowed transitions. RUNNING→IDLE is a stop or a micro-stop, IDLE→RUNNING a
 * start or the end of a micro-stop; a fault is left only through a reset (or
 * maintenance), maintenance only through a reset.
 */
export const TRANSITIONS: Readonly<Record<ModelState, readonly ModelState[]>> = {
  RUNNING: ['IDLE', 'FAULT'],
  IDLE: ['RUNNING', 'FAULT', 'MAINTENANCE'],
  FAULT: ['IDLE', 'MAINTENANCE'],
  MAINTENANCE: ['IDLE']
}

/** Rate setpoint bounds for set-rate, percent of the ideal rate. */
export const RATE_MIN = 10
export const RATE_MAX = 120

/**
 * Temperatures and vibrations an excursion reaches, for every kind: above the
 * normal bands of all kinds (at most ~55 °C, ~5 mm/s), so a controller can use
 * one threshold pair, e.g. 65 °C and 7.1 mm/s (ISO 10816 "damage" zone).
 */
export const EXCURSION_TEMPERATURE = { min: 72, max: 85 } as const
export const EXCURSION_VIBRATION = { min: 8, max: 12 } as const

export interface MachineModelOptions {
  random: Random
  /** Random faults per hour of running, per machine; 0 turns them off. Default 0.5. */
  faultsPerHour?: number
  /** Micro-stops (short IDLE spells) per hour of running; 0 turns them off. Default 4. */
  microStopsPerHour?: number
  /** Temperature or vibration excursions per hour of running; 0 turns them off. Default 3. */
  excursionsPerHour?: number
  /**
   * Mean time until someone at the machine resets a fault and restarts it, ms;
   * 0 leaves faults until a reset command (a demo plant left alone would
   * otherwise end up all in FAULT). Default 90 000.
   */
  autoRecoverMs?: number
  /** Time from a start to full speed and steady quality, ms. Default 30 000. */
  warmUpMs?: number
  /** State at creation. Default RUNNING. */
  initialState?: 'RUNNING' | 'IDLE'
  /** Rate setpoint at creation, percent. Default 100. */
  ratePercent?: number
}

/** Something the outside world should hear about: a state change or an alarm. */
export type ModelEvent =
  | { type: 'state', message: MachineStateMessage }
  | { type: 'alarm', alarm: MachineAlarm }

/** The answer to a command: the ack to send and what changed. */
export interface CommandOutcome {
  ack: CommandAck
  events: ModelEvent[]
}

interface Excursion { kind: 'temperature' | 'vibration', target: number, until: number }

/** Longest step the physics integrates at once: random events stay well resolved. */
const MAX_STEP_MS = 1000

export class MachineModel {
  readonly spec: MachineSpec
  readonly #profile: KindProfile
  readonly #random: Random
  readonly #faultsPerHour: number
  readonly #microStopsPerHour: number
  readonly #excursionsPerHour: number
  readonly #autoRecoverMs: number
  readonly #warmUpMs: number

  #state: ModelState
  #reason: string | undefined
  #stateSince: number
  #now: number
  #ratePercent: number
  /** Bulk temperature (slow) and a hot spot on top of it (fast, excursions). */
  #temperature: number
  #hotSpot = 0
  #vibrationBoost = 0
  #excursion: Excursion | undefined
  #partAccumulator = 0
  #partCount = 0
  #scrapCount = 0
  #runningSince: number
  #microStopUntil: number | undefined
  #recoverAt: number | undefined
  #spindleSetpoint: number
  #cycleTime: number
  #efficiency = 1

  constructor (spec: MachineSpec, options: MachineModelOptions, now: number) {
    this.spec = spec
    this.#profile = KIND_PROFILES[spec.kind]
    this.#random = options.random
    this.#faultsPerHour = nonNegative('faultsPerHour', options.faultsPerHour ?? 0.5)
    this.#microStopsPerHour = nonNegative('microStopsPerHour', options.microStopsPerHour ?? 4)
    this.#excursionsPerHour = nonNegative('excursionsPerHour', options.excursionsPerHour ?? 3)
    this.#autoRecoverMs = nonNegative('autoRecoverMs', options.autoRecoverMs ?? 90_000)
    this.#warmUpMs = nonNegative('warmUpMs', options.warmUpMs ?? 30_000)
    const rate = options.ratePercent ?? 100
    if (!validRate(rate)) throw new RangeError(`ratePercent must be ${RATE_MIN}–${RATE_MAX}, got ${rate}`)
    this.#ratePercent = rate
    this.#state = options.initialState ?? 'RUNNING'
    this.#reason = this.#state === 'RUNNING' ? 'started' : undefined
    this.#stateSince = now
    this.#now = now
    this.#runningSince = now
    this.#temperature = AMBIENT_TEMPERATURE + this.#random.between(0, 3)
    this.#spindleSetpoint = this.#newSpindleSetpoint()
    this.#cycleTime = this.#nominalCycleTime()
  }

  get state (): ModelState { return this.#state }
  get ratePercent (): number { return this.#ratePercent }
  get partCount (): number { return this.#partCount }
  get scrapCount (): number { return this.#scrapCount }
  /** The time the model has been advanced to. */
  get now (): number { return this.#now }

  /** The current state as published on `state`. */
  stateMessage (): MachineStateMessage {
    return this.#reason === undefined
      ? { state: this.#state, ts: this.#stateSince }
      : { state: this.#state, ts: this.#stateSince, reason: this.#reason }
  }

  /**
   * Runs the machine up to `now`: heat, parts, and what chance brings (faults,
   * micro-stops, excursions, recoveries). Time never runs backwards: an
   * earlier `now` changes nothing.
   */
  advance (now: number): ModelEvent[] {
    const events: ModelEvent[] = []
    while (this.#now < now) {
      const t = Math.min(now, this.#now + MAX_STEP_MS)
      this.#step(t, (t - this.#now) / 1000, events)
      this.#now = t
    }
    return events
  }

  /** A telemetry sample at the time the model was last advanced to, with measurement noise. */
  telemetry (): Telemetry {
    const r = this.#random
    const running = this.#state === 'RUNNING'
    const load = 0.7 + 0.3 * this.#ratePercent / 100
    const baseVibration = running ? this.#profile.runningVibration * load * (1 + 0.08 * r.gaussian()) : 0.05 + 0.03 * r.next()
    const sample: Telemetry = {
      ts: this.#now,
      state: this.#state,
      temperature: round(this.#currentTemperature() + 0.15 * r.gaussian(), 1),
      vibration: round(Math.max(0, baseVibration + this.#vibrationBoost), 2),
      partCount: this.#partCount,
      scrapCount: this.#scrapCount,
      ratePercent: this.#ratePercent
    }
    if (this.spec.kind === 'cnc-mill') {
      sample.spindleSpeed = running ? Math.round(this.#spindleSetpoint * (0.95 + 0.05 * this.#warmth()) + 20 * r.gaussian()) : 0
    } else {
      sample.cycleTime = round(this.#cycleTime, 2)
    }
    return sample
  }

  /**
   * Handles a command (after advancing to `now`): the ack says whether it
   * was carried out and the state after it; refusals say why and what to do.
   */
  handle (command: Command, now: number): CommandOutcome {
    const events = this.advance(now)
    const by = command.by ?? 'operator'
    const refuse = (error: string): CommandOutcome => ({ ack: this.#ack(command.id, false, now, error), events })
    const done = (): CommandOutcome => ({ ack: this.#ack(command.id, true, now), events })
    switch (command.action) {
      case 'start':
        if (this.#state === 'RUNNING') return done()
        if (this.#state === 'FAULT') return refuse('cannot start while in FAULT; reset first')
        if (this.#state === 'MAINTENANCE') return refuse('cannot start during MAINTENANCE; reset first to end it')
        this.#runningSince = now
        this.#spindleSetpoint = this.#newSpindleSetpoint()
        this.#enter('RUNNING', `started by ${by}`, now, events)
        return done()
      case 'stop':
        // Stopping is always safe: accepted in every state, a change only when running.
        if (this.#state === 'RUNNING') this.#enter('IDLE', `stopped by ${by}`, now, events)
        else if (this.#state === 'IDLE' && this.#microStopUntil !== undefined) {
          // An operator stop during a micro-stop: it must not resume by itself.
          this.#microStopUntil = undefined
          this.#enter('IDLE', `stopped by ${by}`, now, events)
        }
        return done()
      case 'reset':
        if (this.#state === 'RUNNING') return refuse('cannot reset while RUNNING; stop first')
        if (this.#state === 'IDLE') return done()
        this.#enter('IDLE', this.#state === 'FAULT' ? `fault reset by ${by}` : `maintenance ended by ${by}`, now, events)
        return done()
      case 'set-rate': {
        const value = command.value
        if (value === undefined || !validRate(value)) {
          return refuse(`set-rate needs a value of ${RATE_MIN}–${RATE_MAX} (percent of the ideal rate), got ${value ?? 'none'}`)
        }
        this.#ratePercent = value
        this.#cycleTime = this.#state === 'RUNNING' ? this.#cycleTime : this.#nominalCycleTime()
        return done()
      }
      case 'fault':
        if (this.#state === 'FAULT') return refuse('already in FAULT')
        if (this.#state === 'MAINTENANCE') return refuse('cannot inject a fault during MAINTENANCE')
        this.#fault(this.#random.pick(this.#profile.faults), now, events, `injected by ${by}`)
        return done()
      case 'maintenance':
        if (this.#state === 'MAINTENANCE') return done()
        if (this.#state === 'RUNNING') return refuse('cannot start MAINTENANCE while RUNNING; stop first')
        this.#enter('MAINTENANCE', `maintenance by ${by}`, now, events)
        return done()
    }
  }

  #step (t: number, dt: number, events: ModelEvent[]): void {
    const r = this.#random
    const profile = this.#profile
    if (this.#state === 'IDLE' && this.#microStopUntil !== undefined && t >= this.#microStopUntil) {
      this.#enter('RUNNING', 'resumed after micro-stop', t, events)
    } else if (this.#state === 'FAULT' && this.#recoverAt !== undefined && t >= this.#recoverAt) {
      this.#enter('IDLE', 'fault reset at the machine', t, events)
      this.#runningSince = t
      this.#enter('RUNNING', 'restarted at the machine', t, events)
    }

    if (this.#excursion !== undefined && t >= this.#excursion.until) this.#excursion = undefined
    if (this.#state === 'RUNNING') {
      // Excursions make faults likelier: hot or shaking machines break down.
      const hazard = this.#excursion === undefined ? 1 : 4
      if (r.chance(perStep(this.#faultsPerHour * hazard, dt))) {
        this.#fault(r.pick(profile.faults), t, events)
      } else if (r.chance(perStep(this.#microStopsPerHour, dt))) {
        this.#microStopUntil = t + r.between(3_000, 15_000)
        this.#enter('IDLE', `micro-stop: ${r.pick(profile.microStopReasons)}`, t, events, true)
      } else if (this.#excursion === undefined && r.chance(perStep(this.#excursionsPerHour, dt))) {
        const kind = r.chance(0.5) ? 'temperature' : 'vibration'
        const range = kind === 'temperature' ? EXCURSION_TEMPERATURE : EXCURSION_VIBRATION
        this.#excursion = { kind, target: r.between(range.min, range.max), until: t + r.between(20_000, 60_000) }
      }
    }
    this.#physics(t, dt)
  }

  #physics (t: number, dt: number): void {
    const r = this.#random
    const profile = this.#profile
    const running = this.#state === 'RUNNING'
    const target = running
      ? AMBIENT_TEMPERATURE + (profile.operatingTemperature - AMBIENT_TEMPERATURE) * (0.6 + 0.4 * this.#ratePercent / 100)
      : AMBIENT_TEMPERATURE
    this.#temperature += (target - this.#temperature) * (1 - Math.exp(-dt / profile.thermalTimeConstantS))
    // A hot spot rises within seconds of an excursion and fades within a minute after it.
    const excursion = this.#excursion
    const hotTarget = excursion?.kind === 'temperature' && running ? Math.max(0, excursion.target - this.#temperature) : 0
    this.#hotSpot += (hotTarget - this.#hotSpot) * (1 - Math.exp(-dt / (hotTarget > 0 ? 8 : 30)))
    const vibTarget = excursion?.kind === 'vibration' && running ? Math.max(0, excursion.target - profile.runningVibration) : 0
    this.#vibrationBoost += (vibTarget - this.#vibrationBoost) * (1 - Math.exp(-dt / 3))
    if (!running) return

    // Small losses (slow cycles, short waits) keep the real rate a little under the setpoint.
    this.#efficiency += (r.between(0.9, 1) - this.#efficiency) * 0.2
    const warmth = this.#warmth(t)
    const speed = (0.5 + 0.5 * warmth) * this.#efficiency
    const partsPerSecond = this.spec.idealPartsPerMinute / 60 * this.#ratePercent / 100 * speed
    this.#cycleTime = 1 / partsPerSecond * (1 + 0.01 * r.gaussian())
    this.#partAccumulator += partsPerSecond * dt
    const scrapRate = profile.baseScrapRate +
      (this.#currentTemperature() > 60 ? 0.08 : 0) +
      (this.#vibrationBoost > 3 ? 0.08 : 0) +
      0.04 * (1 - warmth)
    while (this.#partAccumulator >= 1) {
      this.#partAccumulator -= 1
      this.#partCount++
      if (r.chance(scrapRate)) this.#scrapCount++
    }
  }

  #fault (fault: FaultProfile, t: number, events: ModelEvent[], cause?: string): void {
    this.#microStopUntil = undefined
    this.#recoverAt = this.#autoRecoverMs > 0 ? t + this.#random.between(0.5, 1.5) * this.#autoRecoverMs : undefined
    this.#enter('FAULT', fault.code, t, events)
    const message = `${this.spec.name}: ${fault.message}${cause === undefined ? '' : ` (${cause})`}`
    events.push({ type: 'alarm', alarm: { ts: t, code: fault.code, severity: fault.severity, message } })
  }

  #enter (state: ModelState, reason: string, t: number, events: ModelEvent[], microStop = false): void {
    if (state !== this.#state && !TRANSITIONS[this.#state].includes(state)) {
      throw new Error(`bug: ${this.spec.id} cannot go from ${this.#state} to ${state}`)
    }
    if (!microStop) this.#microStopUntil = undefined
    if (state !== 'FAULT') this.#recoverAt = undefined
    this.#state = state
    this.#reason = reason
    this.#stateSince = t
    events.push({ type: 'state', message: this.stateMessage() })
  }

  #ack (id: string, ok: boolean, ts: number, error?: string): CommandAck {
    return error === undefined ? { id, ok, state: this.#state, ts } : { id, ok, state: this.#state, error, ts }
  }

  /** 0 right after a start, 1 once warmed up. */
  #warmth (t: number = this.#now): number {
    return this.#warmUpMs === 0 ? 1 : Math.min(1, Math.max(0, (t - this.#runningSince) / this.#warmUpMs))
  }

  #currentTemperature (): number { return this.#temperature + this.#hotSpot }
  #nominalCycleTime (): number { return 60 / (this.spec.idealPartsPerMinute * this.#ratePercent / 100) }
  #newSpindleSetpoint (): number { return Math.round(this.#random.between(8_500, 11_500) / 100) * 100 }
}

/** Probability that an event with `perHour` mean rate happens within `dt` seconds (Poisson). */
function perStep (perHour: number, dt: number): number {
  return perHour <= 0 ? 0 : 1 - Math.exp(-perHour * dt / 3600)
}

function validRate (value: number): boolean {
  return Number.isFinite(value) && value >= RATE_MIN && value <= RATE_MAX
}

function nonNegative (name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`)
  return value
}

function round (value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
