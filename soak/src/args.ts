import { KINDS, type Kind } from './plan.js'

/** Command-line options of `npm run soak -- ...`. */
export interface SoakOptions {
  minutes: number
  clients: number
  /** Target publishes per second across all publishers. */
  rate: number
  seed: number
  generators: number
  sampleSeconds: number
  /** Client kinds to leave out. */
  skip: Kind[]
}

export const DEFAULTS: SoakOptions = { minutes: 2, clients: 200, rate: 2000, seed: 1, generators: 2, sampleSeconds: 5, skip: [] }

type NumericOption = Exclude<keyof SoakOptions, 'skip'>

const LIMITS: Record<NumericOption, [number, number]> = {
  minutes: [0.25, 24 * 60],
  clients: [10, 5_000],
  rate: [1, 50_000],
  seed: [0, 2 ** 32 - 1],
  generators: [1, 2],
  sampleSeconds: [1, 60]
}

const FLAGS: Record<string, NumericOption> = {
  '--minutes': 'minutes',
  '--clients': 'clients',
  '--rate': 'rate',
  '--seed': 'seed',
  '--generators': 'generators',
  '--sample-seconds': 'sampleSeconds'
}

export const USAGE = `usage: npm run soak -- [--minutes ${DEFAULTS.minutes}] [--clients ${DEFAULTS.clients}] [--rate ${DEFAULTS.rate}] [--seed ${DEFAULTS.seed}] [--generators ${DEFAULTS.generators}] [--sample-seconds ${DEFAULTS.sampleSeconds}] [--skip kind,...]
  --minutes         how long the load runs (setup and the final accounting come on top)
  --clients         clients in the mix (publishers, subscribers, persistent, slow, flapping, idle)
  --rate            target publishes/s across all publishers (QoS 0/1/2 in equal shares)
  --seed            seeds the client mix and every random choice, for a reproducible run
  --generators      load generator processes (1 or 2)
  --sample-seconds  sampling interval for memory, latency and counts
  --skip            leave out client kinds, to bisect a problem: ${KINDS.join(', ')}`

/** Parses argv (after the script); throws with a readable message on a bad flag or value. */
export function parseArgs (argv: readonly string[]): SoakOptions | 'help' {
  const options: SoakOptions = { ...DEFAULTS, skip: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--help' || arg === '-h') return 'help'
    const [flag, inline] = arg.includes('=') ? arg.split('=', 2) as [string, string] : [arg, undefined]
    if (flag === '--skip') {
      const list = inline ?? argv[++i] ?? ''
      for (const kind of list.split(',').filter(k => k !== '')) {
        if (!KINDS.includes(kind as Kind)) throw new Error(`--skip takes ${KINDS.join(', ')}; got "${kind}"`)
        options.skip.push(kind as Kind)
      }
      continue
    }
    const key = FLAGS[flag]
    if (!key) throw new Error(`unknown option "${arg}"\n${USAGE}`)
    const raw = inline ?? argv[++i]
    const value = Number(raw)
    const [min, max] = LIMITS[key]
    if (raw === undefined || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`${flag} needs a number from ${min} to ${max}, got "${raw ?? ''}"`)
    }
    options[key] = key === 'minutes' || key === 'sampleSeconds' ? value : Math.round(value)
  }
  return options
}
