/**
 * The fuzzing loop: batches of sessions (deterministic from the run seed and
 * the batch number) against a broker child, a health check after each batch,
 * and on a crash: triage (see triage.ts) and a fresh broker to carry on with.
 * Bounded by packets, time and crashes.
 */
import { planSession, type SessionPlan } from './plan.js'
import { deriveSeed, SeededRandom } from '@embedmq/testing'
import { healthProblem } from './probe.js'
import { DEFAULT_SESSION_OPTIONS, runSessions, type SessionOptions, type SessionResult } from './session.js'
import { Target, type TargetOptions } from './target.js'
import type { Transport } from './transport.js'
import { triageCrash, type Crash } from './triage.js'

export type { Crash } from './triage.js'

export interface RunOptions {
  seed: number
  /** Stop once this many packets have been sent. */
  packets: number
  /** Stop at this time (ms since the epoch) whatever was sent. */
  deadline?: number
  /** Start at this batch (to get back to a batch of an earlier run quickly). Default 0. */
  firstBatch?: number
  transports: readonly Transport[]
  /** Sessions between two health checks. */
  batchSize: number
  /** Sessions open at once. */
  concurrency: number
  /** Where crash cases are saved; left out, they are not. */
  corpusDir?: string
  /** On a crash, replay the batch one session at a time on a fresh broker to find the culprit, and shrink it. */
  isolate: boolean
  /** Stop after this many crashes. */
  maxCrashes: number
  /** A running broker to fuzz (the caller keeps it and stops it); one is started when left out. */
  target?: Target
  /**
   * Replace the broker with a fresh one every this many batches (0: never; never for a caller's broker).
   * Mutated CONNECTs leave persistent sessions under random client ids that nobody resumes, and their
   * offline queues grow without limit (README, finding 3); this keeps long runs about packet handling.
   */
  recycleEvery?: number
  targetOptions?: TargetOptions
  session?: SessionOptions
  /** Health probe deadline; a failed probe is retried once with twice this before it counts as a crash. */
  probeTimeoutMs?: number
  /** Called after every batch with the running totals. */
  onBatch?: (stats: RunStats, target: Target) => void
  log?: (line: string) => void
}

export interface RunStats {
  seed: number
  batches: number
  sessions: number
  /** Sessions whose socket did not open (the broker was gone, or refused). */
  notOpened: number
  packets: number
  /** Of `packets`, how many were mutated. */
  mutated: number
  bytes: number
  byTransport: Record<Transport, { sessions: number, packets: number }>
  closedByBroker: number
  stalled: number
  malformedReplies: number
  probes: number
  /** Probes that failed once and were retried (passing on retry: a busy broker, not a crash). */
  slowProbes: number
  /** Times the broker was replaced by a fresh one (RunOptions.recycleEvery). */
  recycles: number
  crashes: Crash[]
  elapsedMs: number
}

/** Malformed replies logged per run (with the session seed and bytes); later ones are only counted. */
const MALFORMED_LOGGED = 10
const WS_SHARE = 0.3 // WebSocket sessions cost more per packet; TCP gets most of the volume

/** The sessions of one batch: a pure function of (seed, batch), so any batch can be rebuilt. */
export function planBatch (seed: number, batch: number, size: number, transports: readonly Transport[]): SessionPlan[] {
  return Array.from({ length: size }, (_, i) => {
    const sessionSeed = deriveSeed(seed, batch, i)
    const transport: Transport = transports.length === 1
      ? transports[0]!
      : (new SeededRandom(deriveSeed(sessionSeed, 'transport')).chance(WS_SHARE) && transports.includes('ws')) ? 'ws' : 'tcp'
    return planSession(sessionSeed, transport)
  })
}

function emptyStats (seed: number): RunStats {
  return {
    seed,
    batches: 0,
    sessions: 0,
    notOpened: 0,
    packets: 0,
    mutated: 0,
    bytes: 0,
    byTransport: { tcp: { sessions: 0, packets: 0 }, ws: { sessions: 0, packets: 0 } },
    closedByBroker: 0,
    stalled: 0,
    malformedReplies: 0,
    probes: 0,
    slowProbes: 0,
    recycles: 0,
    crashes: [],
    elapsedMs: 0
  }
}

function count (stats: RunStats, plan: SessionPlan, result: SessionResult, log: (line: string) => void): void {
  stats.sessions++
  if (!result.opened) stats.notOpened++
  stats.packets += result.packetsSent
  stats.mutated += plan.notes.slice(0, result.packetsSent).filter(n => n.includes('+')).length
  stats.bytes += result.bytesSent
  stats.byTransport[plan.transport].sessions++
  stats.byTransport[plan.transport].packets += result.packetsSent
  if (result.closedByBroker) stats.closedByBroker++
  if (result.stalled) stats.stalled++
  if (result.malformedReply && ++stats.malformedReplies <= MALFORMED_LOGGED) {
    log(`malformed reply from the broker in session ${plan.seed} (${plan.transport}): ${result.malformedReplyError ?? 'unknown'}; ` +
      `last bytes received: ${result.malformedReplyTail ?? ''}` +
      (stats.malformedReplies === MALFORMED_LOGGED ? ` (further malformed replies are counted, not logged)` : ''))
  }
}

export async function fuzz (options: RunOptions): Promise<RunStats> {
  const log = options.log ?? (() => undefined)
  const stats = emptyStats(options.seed)
  const started = Date.now()
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY
  let target = options.target ?? await Target.start(options.targetOptions)
  const owned = new Set<Target>(options.target ? [] : [target])
  const session = options.session ?? DEFAULT_SESSION_OPTIONS
  const recycleEvery = options.target === undefined ? options.recycleEvery ?? 0 : 0

  try {
    for (let batch = options.firstBatch ?? 0; stats.packets < options.packets && Date.now() < deadline && stats.crashes.length < options.maxCrashes; batch++) {
      const plans = planBatch(options.seed, batch, options.batchSize, options.transports)
      const results = await runSessions(plans, target.endpoint, session, options.concurrency)
      plans.forEach((plan, i) => count(stats, plan, results[i]!, log))
      stats.batches++

      // Alternate the probe's transport so both listeners are checked.
      const probeOver = options.transports[batch % options.transports.length]!
      stats.probes++
      const problem = await healthProblem(target, probeOver, options.probeTimeoutMs, (failure) => {
        stats.slowProbes++
        log(`health probe failed once (${failure}); retrying with a longer deadline`)
      })
      if (problem !== undefined) {
        stats.crashes.push(await triageCrash(batch, plans, problem, target, { ...options, log }))
        // A stuck broker ignores SIGTERM: a short grace, then SIGKILL. A caller's broker is the caller's to stop.
        if (owned.delete(target)) await target.stop(500)
        if (stats.crashes.length < options.maxCrashes) {
          target = await Target.start(options.targetOptions)
          owned.add(target)
        }
      } else if (recycleEvery > 0 && stats.batches % recycleEvery === 0) {
        const rss = target.rssBytes()
        owned.delete(target)
        await target.stop()
        target = await Target.start(options.targetOptions)
        owned.add(target)
        stats.recycles++
        log(`fresh broker after ${stats.batches} batches${rss === undefined ? '' : ` (the last one had ${Math.round(rss / 1048576)} MB resident)`}`)
      }
      stats.elapsedMs = Date.now() - started
      options.onBatch?.(stats, target)
    }
  } finally {
    for (const t of owned) await t.stop()
  }
  stats.elapsedMs = Date.now() - started
  return stats
}
