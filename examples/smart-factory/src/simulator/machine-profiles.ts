import type { AlarmSeverity, MachineKind } from '../shared/topics.js'

/** A fault a kind of machine can suffer. */
export interface FaultProfile {
  code: string
  severity: AlarmSeverity
  message: string
}

/** How one kind of machine behaves: the constants behind its telemetry. */
export interface KindProfile {
  /** Steady temperature while running at 100 %, °C. */
  operatingTemperature: number
  /** Vibration while running at 100 %, mm/s RMS. */
  runningVibration: number
  /** Time constant of heating and cooling, seconds. */
  thermalTimeConstantS: number
  /** Base probability that a part is scrap. */
  baseScrapRate: number
  /** Why this kind of machine pauses briefly (micro-stops). */
  microStopReasons: readonly string[]
  faults: readonly FaultProfile[]
}

/** Ambient temperature a stopped machine cools down to, °C. */
export const AMBIENT_TEMPERATURE = 22

/**
 * Ranges are typical of real shop floors: vibration per ISO 10816 (under
 * 4.5 mm/s good for most of these, above 7.1 mm/s damaging), spindle and
 * hydraulic oil temperatures in the 40–55 °C band.
 */
export const KIND_PROFILES: Record<MachineKind, KindProfile> = {
  'cnc-mill': {
    operatingTemperature: 46,
    runningVibration: 2.2,
    thermalTimeConstantS: 150,
    baseScrapRate: 0.02,
    microStopReasons: ['tool change', 'waiting for blank', 'chip clearing'],
    faults: [
      { code: 'SPINDLE_OVERTEMP', severity: 'critical', message: 'Spindle temperature above trip limit' },
      { code: 'TOOL_BREAKAGE', severity: 'critical', message: 'Tool breakage detected' },
      { code: 'COOLANT_LOW', severity: 'warning', message: 'Coolant level low' }
    ]
  },
  press: {
    operatingTemperature: 52,
    runningVibration: 4.0,
    thermalTimeConstantS: 240,
    baseScrapRate: 0.03,
    microStopReasons: ['waiting for coil', 'die lubrication'],
    faults: [
      { code: 'HYDRAULIC_PRESSURE_LOW', severity: 'critical', message: 'Hydraulic pressure below minimum' },
      { code: 'DIE_MISALIGNMENT', severity: 'critical', message: 'Die misalignment detected' },
      { code: 'LIGHT_CURTAIN_TRIPPED', severity: 'warning', message: 'Safety light curtain interrupted' }
    ]
  },
  conveyor: {
    operatingTemperature: 36,
    runningVibration: 1.4,
    thermalTimeConstantS: 120,
    baseScrapRate: 0.005,
    microStopReasons: ['starved: no parts upstream', 'blocked: downstream full'],
    faults: [
      { code: 'BELT_JAM', severity: 'critical', message: 'Belt jammed' },
      { code: 'MOTOR_OVERLOAD', severity: 'critical', message: 'Drive motor overload' },
      { code: 'EMERGENCY_STOP', severity: 'critical', message: 'Emergency stop pressed' }
    ]
  },
  'packaging-robot': {
    operatingTemperature: 39,
    runningVibration: 1.1,
    thermalTimeConstantS: 180,
    baseScrapRate: 0.01,
    microStopReasons: ['waiting for cartons', 'pallet change'],
    faults: [
      { code: 'GRIPPER_VACUUM_LOST', severity: 'critical', message: 'Gripper vacuum lost' },
      { code: 'AXIS_COLLISION', severity: 'critical', message: 'Axis collision detected' },
      { code: 'PALLET_MISSING', severity: 'warning', message: 'No pallet at the outfeed' }
    ]
  }
}
