import path from 'node:path'
import { parseArgs } from 'node:util'

export const SCENARIO_NAMES = ['fan-in', 'fan-out', 'qos1', 'latency', 'memory', 'persistence'] as const
export type ScenarioName = typeof SCENARIO_NAMES[number]

export interface Options {
  quick: boolean
  rounds: number
  /** Load before the measured window: connections settle, code gets compiled. */
  warmupMs: number
  /** The measured window of throughput and latency scenarios. */
  durationMs: number
  /** Idle connections opened by the memory scenario. */
  idleConnections: number
  scenarios: ScenarioName[]
  /** When set, brokers run with --cpu-prof and write their profiles here. */
  cpuProfDir?: string
}

export const USAGE = `Usage: node bench/dist/src/main.js [--quick] [--scenario NAME[,NAME]] [--rounds N] [--duration MS]

  --quick            one short round (a smoke run, ~30 s)
  --scenario NAME    only these scenarios: ${SCENARIO_NAMES.join(', ')} (repeatable or comma-separated)
  --rounds N         rounds per scenario (default 3; 1 with --quick)
  --duration MS      measured window per trial (default 1500; 1000 with --quick)
  --cpu-prof DIR     run each broker with node --cpu-prof, profiles written to DIR
  --help             this text`

function positiveInt (value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${value}"`)
  return n
}

/** Parses argv; throws with a message naming the bad argument. Returns undefined for --help. */
export function parseOptions (argv: readonly string[]): Options | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false }
    },
    strict: true
  })
  if (values.help) return undefined
  const quick = values.quick
  const requested = (values.scenario ?? []).flatMap(s => s.split(',')).map(s => s.trim()).filter(s => s !== '')
  for (const name of requested) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"; choose from ${SCENARIO_NAMES.join(', ')}`)
  }
  return {
    quick,
    rounds: positiveInt(values.rounds, '--rounds', quick ? 1 : 3),
    warmupMs: quick ? 300 : 500,
    durationMs: positiveInt(values.duration, '--duration', quick ? 1000 : 1500),
    idleConnections: quick ? 500 : 2000,
    scenarios: requested.length > 0 ? SCENARIO_NAMES.filter(n => requested.includes(n)) : [...SCENARIO_NAMES],
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: path.resolve(values['cpu-prof']) })
  }
}
