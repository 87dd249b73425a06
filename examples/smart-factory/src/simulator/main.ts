#!/usr/bin/env node
/**
 * The simulator CLI: runs the plant against a broker until SIGINT/SIGTERM,
 * then publishes OFFLINE "simulator stopped" for every machine and exits 0.
 */
import { defaultPlant, machinePassword } from '../shared/plant.js'
import { machineTopic } from '../shared/topics.js'
import { CliError, parseCli, USAGE, type CliOptions } from './cli-options.js'
import { lineLogger } from './line-logger.js'
import { startSimulator } from './simulator.js'

function printCredentials (options: CliOptions): void {
  const plant = defaultPlant({ site: options.site, lines: options.lines })
  const secretNote = process.env.MACHINE_SECRET ? 'MACHINE_SECRET from the environment' : 'the demo secret (MACHINE_SECRET is not set)'
  console.log(`# machine credentials derived from ${secretNote}`)
  console.log('# machine\tline\tkind\tusername\tpassword\ttopic prefix')
  for (const m of plant.machines) {
    const prefix = machineTopic({ site: plant.site, line: m.line, machine: m.id }, 'state').replace(/\/state$/, '/')
    console.log([m.id, m.line, m.kind, m.id, machinePassword(m.id), prefix].join('\t'))
  }
}

function main (): void {
  let cli
  try {
    cli = parseCli(process.argv.slice(2), process.env)
  } catch (err) {
    if (!(err instanceof CliError)) throw err
    console.error(`simulator: ${err.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (cli.command === 'help') {
    console.log(USAGE)
    return
  }
  if (cli.command === 'print-credentials') {
    printCredentials(cli.options)
    return
  }
  const options = cli.options
  const logger = lineLogger()
  const plant = defaultPlant({ site: options.site, lines: options.lines })
  logger.info(`simulator: ${plant.machines.length} machines on ${plant.lines.length} line(s) of site ${plant.site}, connecting to ${options.brokerUrl}; telemetry every ${options.telemetryIntervalMs} ms${options.seed === undefined ? '' : `, seed ${options.seed}`}`)
  const simulator = startSimulator({
    brokerUrl: options.brokerUrl,
    plant,
    telemetryIntervalMs: options.telemetryIntervalMs,
    faultRate: options.faultRate,
    microStopRate: options.microStopRate,
    excursionRate: options.excursionRate,
    autoRecoverMs: options.autoRecoverMs,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    logger
  })
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn(`simulator: ${signal} again; exiting without waiting`)
      process.exit(1)
    }
    stopping = true
    logger.info(`simulator: ${signal}: publishing OFFLINE for every machine and disconnecting`)
    simulator.stop().then(() => {
      logger.info('simulator: stopped')
      process.exit(0)
    }, (err: unknown) => {
      logger.error(`simulator: stop failed: ${err instanceof Error ? err.message : String(err)}`)
      process.exit(1)
    })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

main()
