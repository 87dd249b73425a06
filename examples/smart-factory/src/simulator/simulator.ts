/**
 * Runs a whole plant: one MachineModel and one MachineClient (its own MQTT
 * connection) per machine.
 */
import type { Logger } from '@embedmq/core'
import { machinePassword, type PlantSpec } from '../shared/plant.js'
import { MachineClient, type MachineStatus } from './machine-client.js'
import { MachineModel, type MachineModelOptions } from './machine-model.js'
import { createRandom, hashSeed } from './random.js'

export interface SimulatorOptions {
  /** mqtt://host:port of the broker the machines connect to. */
  brokerUrl: string
  plant: PlantSpec
  /** Telemetry period per machine, ms. Default 1000. */
  telemetryIntervalMs?: number
  /** Seed for every machine's randomness (each machine derives its own stream from it and its id). Default: the time. */
  seed?: number | string
  /** Random faults per machine per hour of running; 0 turns them off. Default 0.5. */
  faultRate?: number
  /** Micro-stops per machine per hour of running. Default 4. */
  microStopRate?: number
  /** Temperature/vibration excursions per machine per hour of running. Default 3. */
  excursionRate?: number
  /** Mean time until a fault is reset at the machine, ms; 0: only a reset command clears it. Default 90 000. */
  autoRecoverMs?: number
  /** Secret machine passwords derive from; default MACHINE_SECRET or the demo secret. */
  machineSecret?: string
  /** Wait between reconnection attempts, ms. Default 2000. */
  reconnectPeriodMs?: number
  logger: Logger
  /** Epoch milliseconds; Date.now by default. */
  clock?: () => number
}

export interface SimulatorHandle {
  /** Each machine's state, rate, counters and connection, in plant order. */
  machines (): MachineStatus[]
  /** Publishes OFFLINE "simulator stopped" for every connected machine, then disconnects them all. */
  stop (): Promise<void>
}

/**
 * Starts every machine of the plant. Returns at once: machines connect (and
 * keep retrying, with log lines that say why) in the background.
 */
export function startSimulator (options: SimulatorOptions): SimulatorHandle {
  const clock = options.clock ?? Date.now
  const interval = options.telemetryIntervalMs ?? 1000
  if (!Number.isInteger(interval) || interval < 50) throw new RangeError(`telemetryIntervalMs must be an integer of at least 50, got ${interval}`)
  if (options.plant.machines.length === 0) throw new RangeError('the plant has no machines')
  const seed = options.seed ?? clock()
  const now = clock()
  const modelOptions: Omit<MachineModelOptions, 'random'> = {
    ...(options.faultRate === undefined ? {} : { faultsPerHour: options.faultRate }),
    ...(options.microStopRate === undefined ? {} : { microStopsPerHour: options.microStopRate }),
    ...(options.excursionRate === undefined ? {} : { excursionsPerHour: options.excursionRate }),
    ...(options.autoRecoverMs === undefined ? {} : { autoRecoverMs: options.autoRecoverMs })
  }
  const clients = options.plant.machines.map(spec => {
    // One stream per machine: adding a machine does not change what the others do.
    const random = createRandom(hashSeed(`${String(seed)}/${spec.id}`))
    const model = new MachineModel(spec, { ...modelOptions, random }, now)
    return new MachineClient({
      brokerUrl: options.brokerUrl,
      site: options.plant.site,
      model,
      password: machinePassword(spec.id, options.machineSecret),
      telemetryIntervalMs: interval,
      logger: options.logger,
      clock,
      ...(options.reconnectPeriodMs === undefined ? {} : { reconnectPeriodMs: options.reconnectPeriodMs })
    })
  })
  let stopping: Promise<void> | undefined
  return {
    machines: () => clients.map(c => c.status()),
    stop () {
      stopping ??= Promise.all(clients.map(c => c.stop())).then(() => undefined)
      return stopping
    }
  }
}
