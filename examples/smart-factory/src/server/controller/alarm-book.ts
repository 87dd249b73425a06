/**
 * The controller's alarms: raised from machine `alarm` messages, FAULT states
 * and telemetry thresholds; acknowledged by operators; removed once they are
 * both acknowledged and their condition has cleared. The book decides; the
 * caller publishes what it is handed (retained, so unacknowledged alarms
 * survive a broker restart with persistence).
 */
import type { Alarm, AlarmSeverity, MachineAlarm, MachineState, Telemetry } from '../../shared/topics.js'
import type { MachineSpec } from '../../shared/plant.js'
import { METRIC_UNITS, THRESHOLD_METRICS, type KindThresholds, type ThresholdMetric } from './thresholds.js'

/**
 * What keeps an alarm active: the machine's fault (clears when it leaves
 * FAULT), a telemetry excursion (clears below the threshold's clear level), or
 * nothing (`event`: a notice the machine sent, cleared from the start).
 */
export type AlarmCondition = 'fault' | 'event' | `threshold:${ThresholdMetric}`

/** An alarm as published on alarmTopic: the contract's Alarm plus the condition it tracks. */
export interface ControllerAlarm extends Alarm {
  condition: AlarmCondition
  /** True once the condition is gone; the alarm stays until acknowledged. */
  cleared: boolean
  clearedAt?: number
}

/** What the book asks its owner to do. */
export interface AlarmSink {
  /** Publish (retained) this alarm's current form. */
  publish (alarm: ControllerAlarm): void
  /** Remove it (empty retained payload). */
  remove (alarm: ControllerAlarm): void
}

/** The FAULT-state alarm's code until the machine says which fault it is. */
export const GENERIC_FAULT_CODE = 'FAULT'

interface MachineAlarmState {
  faultAlarms: Set<string>
  thresholdAlarms: Map<ThresholdMetric, string>
}

export class AlarmBook {
  readonly #site: string
  readonly #sink: AlarmSink
  readonly #now: () => number
  readonly #alarms = new Map<string, ControllerAlarm>()
  readonly #machines = new Map<string, MachineAlarmState>()
  #seq = 0

  constructor (site: string, sink: AlarmSink, now: () => number) {
    this.#site = site
    this.#sink = sink
    this.#now = now
  }

  /** Alarms read back from retained messages at start: their conditions are assumed to hold until telemetry or state says otherwise. */
  restore (alarm: ControllerAlarm): void {
    if (alarm.cleared && alarm.acknowledgedBy !== undefined) { this.#sink.remove(alarm); return }
    this.#alarms.set(alarm.id, alarm)
    if (alarm.cleared) return
    const m = this.#machine(alarm.machine)
    if (alarm.condition === 'fault') m.faultAlarms.add(alarm.id)
    else if (alarm.condition.startsWith('threshold:')) m.thresholdAlarms.set(alarm.condition.slice('threshold:'.length) as ThresholdMetric, alarm.id)
  }

  get (id: string): ControllerAlarm | undefined {
    return this.#alarms.get(id)
  }

  /** Unacknowledged first, then by severity, newest first. */
  list (): ControllerAlarm[] {
    const rank: Record<AlarmSeverity, number> = { critical: 0, warning: 1, info: 2 }
    return [...this.#alarms.values()].sort((a, b) =>
      Number(a.acknowledgedBy !== undefined) - Number(b.acknowledgedBy !== undefined) ||
      rank[a.severity] - rank[b.severity] ||
      b.raisedAt - a.raisedAt)
  }

  /** A state change (from the state channel or telemetry). */
  onState (machine: MachineSpec, state: MachineState, reason: string | undefined): void {
    const m = this.#machine(machine.id)
    if (state === 'FAULT') {
      if (this.#openFaultAlarms(m).length > 0) return
      const alarm = this.#raise(machine, 'fault', GENERIC_FAULT_CODE, 'critical', reason ?? 'machine reported FAULT')
      m.faultAlarms.add(alarm.id)
      return
    }
    // OFFLINE says nothing about the fault: a faulted machine that lost its connection is still faulted.
    if (state === 'OFFLINE') return
    for (const id of [...m.faultAlarms]) this.#clear(id)
    m.faultAlarms.clear()
  }

  /**
   * An alarm the machine sent. Critical ones, and any while the machine is in
   * FAULT, belong to the fault: they name the generic FAULT alarm when there is
   * one, and clear with the fault. Others are notices.
   */
  onMachineAlarm (machine: MachineSpec, report: MachineAlarm, currentState: MachineState | undefined): void {
    const m = this.#machine(machine.id)
    const severity: AlarmSeverity = report.severity === 'critical' || report.severity === 'warning' || report.severity === 'info' ? report.severity : 'warning'
    const code = typeof report.code === 'string' && report.code !== '' ? report.code : 'MACHINE_ALARM'
    const message = typeof report.message === 'string' ? report.message : code
    if (severity === 'critical' || currentState === 'FAULT') {
      const open = this.#openFaultAlarms(m)
      if (open.some(a => a.code === code)) return
      const generic = open.find(a => a.code === GENERIC_FAULT_CODE)
      if (generic) {
        Object.assign(generic, { code, severity, message })
        this.#sink.publish(generic)
        return
      }
      m.faultAlarms.add(this.#raise(machine, 'fault', code, severity, message).id)
      return
    }
    const duplicate = [...this.#alarms.values()].some(a => a.machine === machine.id && a.code === code && a.acknowledgedBy === undefined)
    if (!duplicate) this.#raise(machine, 'event', code, severity, message, true)
  }

  onTelemetry (machine: MachineSpec, telemetry: Telemetry, thresholds: KindThresholds): void {
    const m = this.#machine(machine.id)
    for (const metric of THRESHOLD_METRICS) {
      const value = telemetry[metric]
      if (typeof value !== 'number' || !Number.isFinite(value)) continue
      const limit = thresholds[metric]
      const active = m.thresholdAlarms.get(metric)
      if (active === undefined && value > limit.high) {
        const unit = METRIC_UNITS[metric]
        const alarm = this.#raise(machine, `threshold:${metric}`, `${metric.toUpperCase()}_HIGH`, 'warning',
          `${metric} ${value.toFixed(1)} ${unit} above ${limit.high} ${unit}`)
        m.thresholdAlarms.set(metric, alarm.id)
      } else if (active !== undefined && value < limit.clear) {
        m.thresholdAlarms.delete(metric)
        this.#clear(active)
      }
    }
  }

  /**
   * Records who acknowledged. Acknowledging twice keeps the first record.
   * Returns the alarm and whether it was removed (its condition had cleared).
   */
  acknowledge (id: string, user: string): { alarm: ControllerAlarm, removed: boolean } | undefined {
    const alarm = this.#alarms.get(id)
    if (!alarm) return undefined
    if (alarm.acknowledgedBy === undefined) {
      alarm.acknowledgedBy = user
      alarm.acknowledgedAt = this.#now()
    }
    if (alarm.cleared) {
      this.#alarms.delete(id)
      this.#sink.remove(alarm)
      return { alarm, removed: true }
    }
    this.#sink.publish(alarm)
    return { alarm, removed: false }
  }

  #openFaultAlarms (m: MachineAlarmState): ControllerAlarm[] {
    return [...m.faultAlarms].map(id => this.#alarms.get(id)).filter((a): a is ControllerAlarm => a !== undefined && !a.cleared)
  }

  #raise (machine: MachineSpec, condition: AlarmCondition, code: string, severity: AlarmSeverity, message: string, cleared = false): ControllerAlarm {
    const raisedAt = this.#now()
    const alarm: ControllerAlarm = {
      // Topic- and URL-safe, unique across controller restarts (time) and within a millisecond (sequence).
      id: `${machine.id}-${raisedAt.toString(36)}-${(this.#seq++).toString(36)}`,
      site: this.#site,
      line: machine.line,
      machine: machine.id,
      code,
      severity,
      message,
      raisedAt,
      condition,
      cleared,
      ...(cleared ? { clearedAt: raisedAt } : {})
    }
    this.#alarms.set(alarm.id, alarm)
    this.#sink.publish(alarm)
    return alarm
  }

  #clear (id: string): void {
    const alarm = this.#alarms.get(id)
    if (!alarm || alarm.cleared) return
    alarm.cleared = true
    alarm.clearedAt = this.#now()
    if (alarm.acknowledgedBy !== undefined) {
      this.#alarms.delete(id)
      this.#sink.remove(alarm)
    } else {
      this.#sink.publish(alarm)
    }
  }

  #machine (id: string): MachineAlarmState {
    let m = this.#machines.get(id)
    if (!m) { m = { faultAlarms: new Set(), thresholdAlarms: new Map() }; this.#machines.set(id, m) }
    return m
  }
}
