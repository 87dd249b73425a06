/** The simulator's command line and environment, parsed and checked (no I/O, so it is testable). */
import { parseArgs } from 'node:util'

export const USAGE = `Usage: node dist/src/simulator/main.js [options]

Runs a simulated plant: every machine is its own MQTT client (TCP, own credentials).

Options (flags win over environment variables):
  --broker <url>          broker URL                     env BROKER_URL, else mqtt://127.0.0.1:$MQTT_PORT (1883)
  --site <name>           site name in topics            env SITE, default berlin
  --lines <n>             production lines, 6 machines each   env LINES, default 2
  --interval <ms>         telemetry period per machine   env TELEMETRY_INTERVAL_MS, default 1000
  --fault-rate <n>        random faults per machine per running hour (0: none)   env FAULT_RATE, default 0.5
  --micro-stop-rate <n>   micro-stops per machine per running hour   default 4
  --excursion-rate <n>    temperature/vibration excursions per machine per running hour   default 3
  --auto-recover <s>      mean seconds until a fault is reset at the machine (0: wait for a reset command)   default 90
  --seed <value>          seed for reproducible runs     env SEED, default: the time
  --print-credentials     print every machine's MQTT username and password, then exit
  -h, --help              this text

Machine passwords derive from MACHINE_SECRET (the server must use the same value).
`

export interface CliOptions {
  brokerUrl: string
  site: string
  lines: number
  telemetryIntervalMs: number
  faultRate: number
  microStopRate: number
  excursionRate: number
  autoRecoverMs: number
  seed: string | undefined
}

export type CliCommand =
  | { command: 'run', options: CliOptions }
  | { command: 'print-credentials', options: CliOptions }
  | { command: 'help' }

/** A mistake on the command line or in the environment: print the message and the usage, exit 2. */
export class CliError extends Error {}

export function parseCli (argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  let values
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        broker: { type: 'string' },
        site: { type: 'string' },
        lines: { type: 'string' },
        interval: { type: 'string' },
        'fault-rate': { type: 'string' },
        'micro-stop-rate': { type: 'string' },
        'excursion-rate': { type: 'string' },
        'auto-recover': { type: 'string' },
        seed: { type: 'string' },
        'print-credentials': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  if (values.help === true) return { command: 'help' }

  // MQTT_PORT only matters when no broker URL is given (the parent may run with MQTT_PORT=0).
  const brokerUrl = values.broker ?? nonEmpty(env.BROKER_URL) ?? `mqtt://127.0.0.1:${integer('MQTT_PORT', env.MQTT_PORT, 1883, 1, 65535)}`
  let parsedUrl: URL
  try {
    parsedUrl = new URL(brokerUrl)
  } catch {
    throw new CliError(`broker URL ${JSON.stringify(brokerUrl)} is not a URL (expected e.g. mqtt://127.0.0.1:1883)`)
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'].includes(parsedUrl.protocol)) {
    throw new CliError(`broker URL ${brokerUrl}: unsupported scheme ${parsedUrl.protocol} (use mqtt://, mqtts://, ws:// or wss://)`)
  }
  const site = values.site ?? nonEmpty(env.SITE) ?? 'berlin'
  if (!/^[A-Za-z0-9_-]+$/.test(site)) throw new CliError(`site ${JSON.stringify(site)} must be letters, digits, - or _ (it is a topic level)`)
  const options: CliOptions = {
    brokerUrl,
    site,
    lines: integer('--lines', values.lines ?? nonEmpty(env.LINES), 2, 1, 50),
    telemetryIntervalMs: integer('--interval', values.interval ?? nonEmpty(env.TELEMETRY_INTERVAL_MS), 1000, 50, 3_600_000),
    faultRate: number('--fault-rate', values['fault-rate'] ?? nonEmpty(env.FAULT_RATE), 0.5),
    microStopRate: number('--micro-stop-rate', values['micro-stop-rate'], 4),
    excursionRate: number('--excursion-rate', values['excursion-rate'], 3),
    autoRecoverMs: number('--auto-recover', values['auto-recover'], 90) * 1000,
    seed: values.seed ?? nonEmpty(env.SEED)
  }
  return values['print-credentials'] === true ? { command: 'print-credentials', options } : { command: 'run', options }
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function integer (name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) throw new CliError(`${name}=${raw}: expected a whole number from ${min} to ${max}`)
  return value
}

function number (name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new CliError(`${name}=${raw}: expected a number ≥ 0`)
  return value
}
