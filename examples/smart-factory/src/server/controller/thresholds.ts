/**
 * Telemetry limits per machine kind. An alarm is raised when a value goes
 * above `high`; its condition clears only when the value falls below `clear`
 * (hysteresis), so a value hovering around the limit raises one alarm, not one
 * per sample.
 */
import type { MachineKind } from '../../shared/topics.js'

export interface Threshold {
  /** Raise above this. */
  high: number
  /** The condition clears below this (≤ high). */
  clear: number
}

export type ThresholdMetric = 'temperature' | 'vibration'

export const THRESHOLD_METRICS: readonly ThresholdMetric[] = ['temperature', 'vibration']

export type KindThresholds = Record<ThresholdMetric, Threshold>

/**
 * Defaults: temperature in °C, vibration in mm/s RMS. Normal running stays
 * under ~55 °C and ~5 mm/s for every kind here; 7.1 mm/s is the ISO 10816
 * zone C/D ("damage") boundary for small and medium machines. The hysteresis
 * is 5 °C and 1.1 mm/s.
 */
const STANDARD: KindThresholds = { temperature: { high: 65, clear: 60 }, vibration: { high: 7.1, clear: 6 } }

export const DEFAULT_THRESHOLDS: Readonly<Record<MachineKind, KindThresholds>> = {
  'cnc-mill': STANDARD,
  press: STANDARD,
  conveyor: STANDARD,
  'packaging-robot': STANDARD
}

export const METRIC_UNITS: Readonly<Record<ThresholdMetric, string>> = { temperature: '°C', vibration: 'mm/s' }
