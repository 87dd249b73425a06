/**
 * The plant's topic scheme and message shapes: the one contract between the
 * machines (simulator), the line controller and the dashboard.
 *
 * ISA-95 style: factory/<site>/<line>/<machine>/<channel>
 *
 *   channel     | publisher   | QoS | retained | payload
 *   ------------|-------------|-----|----------|-------------------------------
 *   info        | machine     | 1   | yes      | MachineInfo (what it is)
 *   state       | machine     | 1   | yes      | MachineStateMessage; the last will sets OFFLINE
 *   telemetry   | machine     | 0   | no       | Telemetry
 *   alarm       | machine     | 1   | no       | MachineAlarm (a fault the machine reports)
 *   cmd         | controller  | 1   | no       | Command (request; correlation id)
 *   cmd/ack     | machine     | 1   | no       | CommandAck (response, same id)
 *   oee         | controller  | 0   | yes      | OeeFigures for the machine
 *
 * Line and site level, published by the controller:
 *   factory/<site>/<line>/oee               QoS 0, retained: OeeFigures for the line
 *   factory/<site>/alarms/<alarmId>         QoS 1, retained: Alarm (active or acknowledged);
 *                                           an empty retained payload removes a cleared alarm
 */

export type MachineKind = 'cnc-mill' | 'press' | 'conveyor' | 'packaging-robot'

export type MachineState = 'RUNNING' | 'IDLE' | 'FAULT' | 'MAINTENANCE' | 'OFFLINE'

export const MACHINE_STATES: readonly MachineState[] = ['RUNNING', 'IDLE', 'FAULT', 'MAINTENANCE', 'OFFLINE']

export type MachineChannel = 'info' | 'state' | 'telemetry' | 'alarm' | 'cmd' | 'cmd/ack' | 'oee'

/** Where a machine sits in the plant. */
export interface MachineAddress {
  site: string
  line: string
  machine: string
}

export const TOPIC_ROOT = 'factory'

export function machineTopic (address: MachineAddress, channel: MachineChannel): string {
  return `${TOPIC_ROOT}/${address.site}/${address.line}/${address.machine}/${channel}`
}

export function lineOeeTopic (site: string, line: string): string {
  return `${TOPIC_ROOT}/${site}/${line}/oee`
}

export function alarmTopic (site: string, alarmId: string): string {
  return `${TOPIC_ROOT}/${site}/alarms/${alarmId}`
}

/** Filters the dashboard and the controller subscribe to. */
export const Filters = {
  /** Everything in a site. */
  site: (site: string): string => `${TOPIC_ROOT}/${site}/#`,
  /** One channel of every machine in a site, e.g. all states. */
  machineChannel: (site: string, channel: Exclude<MachineChannel, 'cmd/ack'>): string => `${TOPIC_ROOT}/${site}/+/+/${channel}`,
  commandAcks: (site: string): string => `${TOPIC_ROOT}/${site}/+/+/cmd/ack`,
  alarms: (site: string): string => `${TOPIC_ROOT}/${site}/alarms/+`
} as const

/**
 * Parses a machine topic; undefined for anything else (line/site topics,
 * foreign topics). `cmd/ack` is the only two-level channel.
 */
export function parseMachineTopic (topic: string): { address: MachineAddress, channel: MachineChannel } | undefined {
  const parts = topic.split('/')
  if (parts[0] !== TOPIC_ROOT || parts.length < 5 || parts.length > 6) return undefined
  const [, site, line, machine, ...rest] = parts as [string, string, string, string, ...string[]]
  if (line === 'alarms') return undefined
  const channel = rest.join('/')
  if (!isMachineChannel(channel)) return undefined
  return { address: { site, line, machine }, channel }
}

function isMachineChannel (value: string): value is MachineChannel {
  return ['info', 'state', 'telemetry', 'alarm', 'cmd', 'cmd/ack', 'oee'].includes(value)
}

/** Retained on `info` when a machine connects. */
export interface MachineInfo {
  machine: string
  line: string
  site: string
  kind: MachineKind
  /** Human name for tiles, e.g. "CNC mill 1". */
  name: string
  /** Ideal parts per minute at rate 100 %: the performance baseline for OEE. */
  idealPartsPerMinute: number
}

/** Retained on `state` (QoS 1). The last will publishes `{ state: 'OFFLINE', reason: 'connection lost' }`. */
export interface MachineStateMessage {
  state: MachineState
  /** Epoch milliseconds. */
  ts: number
  /** Why the machine is in this state (fault code, "stopped by operator", "connection lost"). */
  reason?: string
}

/** Published on `telemetry` (QoS 0) every telemetry interval. */
export interface Telemetry {
  ts: number
  state: MachineState
  /** °C */
  temperature: number
  /** mm/s RMS */
  vibration: number
  /** rpm, for CNC mills; undefined for other kinds. */
  spindleSpeed?: number
  /** Seconds per part, for presses, conveyors and robots. */
  cycleTime?: number
  /** Parts made since the machine process started (monotonic). */
  partCount: number
  /** Parts scrapped since the machine process started (monotonic, ≤ partCount). */
  scrapCount: number
  /** Current rate setpoint, percent of ideal (set-rate command). */
  ratePercent: number
}

/** A fault a machine reports on `alarm` (QoS 1). */
export interface MachineAlarm {
  ts: number
  code: string
  severity: AlarmSeverity
  message: string
}

export type AlarmSeverity = 'info' | 'warning' | 'critical'

export type CommandAction = 'start' | 'stop' | 'reset' | 'set-rate' | 'fault' | 'maintenance'

export const COMMAND_ACTIONS: readonly CommandAction[] = ['start', 'stop', 'reset', 'set-rate', 'fault', 'maintenance']

/** Sent on a machine's `cmd` (QoS 1). `fault` injects a fault (demo/testing). */
export interface Command {
  /** Correlation id, echoed in the ack. */
  id: string
  action: CommandAction
  /** For set-rate: percent of ideal rate, 10–120. */
  value?: number
  /** Who asked (username), for the audit trail. */
  by?: string
  ts: number
}

/** Sent on a machine's `cmd/ack` (QoS 1) for every command it receives. */
export interface CommandAck {
  id: string
  ok: boolean
  /** The machine's state after handling the command. */
  state: MachineState
  /** Why the command was refused, when ok is false (e.g. "cannot start while in FAULT; reset first"). */
  error?: string
  ts: number
}

/** OEE over the controller's sliding window; each factor in 0..1. */
export interface OeeFigures {
  availability: number
  performance: number
  quality: number
  oee: number
  /** Window length in seconds. */
  windowSeconds: number
  ts: number
}

/** An alarm as the controller keeps and publishes it (retained on alarmTopic). */
export interface Alarm {
  id: string
  site: string
  line: string
  machine: string
  code: string
  severity: AlarmSeverity
  message: string
  raisedAt: number
  /** Set when an operator acknowledged it. */
  acknowledgedBy?: string
  acknowledgedAt?: number
}

/** Parses JSON from a payload; undefined when it is not a JSON object. */
export function parseJson<T> (payload: Buffer | Uint8Array | string): T | undefined {
  try {
    const value: unknown = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'))
    return typeof value === 'object' && value !== null ? value as T : undefined
  } catch {
    return undefined
  }
}
