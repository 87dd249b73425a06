/**
 * What happens after a crash: find the one session of the batch that causes
 * it on its own, shrink it to the packets it needs, save it as a regression
 * case, and replay saved cases. Every step runs on fresh broker children and
 * is bounded; when a step does not reproduce, the input is kept as found.
 */
import { fromSaved, saveCase, toSaved, type RegressionCase } from './corpus.js'
import type { SessionPlan } from './plan.js'
import { healthProblem } from './probe.js'
import { DEFAULT_SESSION_OPTIONS, runSession, runSessions, type SessionOptions } from './session.js'
import { Target, type TargetOptions } from './target.js'

export interface ReplayOptions {
  concurrency: number
  targetOptions?: TargetOptions
  session?: SessionOptions
  probeTimeoutMs?: number
}

export interface TriageOptions extends ReplayOptions {
  seed: number
  /** Where the case is saved; left out, it is not. */
  corpusDir?: string
  /** Try to find the one session that causes the crash (else the whole batch is saved). */
  isolate: boolean
  /** Time allowed for shrinking an isolated session. */
  minimizeMs?: number
  log: (line: string) => void
}

export interface Crash {
  batch: number
  reason: string
  fatal: string[]
  stderrTail: string[]
  isolated: boolean
  reproduced: boolean
  /** Packets in the saved session before and after shrinking, when it was shrunk. */
  minimized?: { from: number, to: number }
  savedTo?: string
}

export interface ReplayOutcome {
  reason?: string
  fatal: string[]
  stderrTail: string[]
}

/** Pauses tried when isolating: as fuzzed, then with chunk boundaries kept (see SessionOptions.paceMs). */
const PACES = [0, 5] as const

/** Runs sessions on one broker until one breaks it; a fresh broker replaces a broken one. */
class Bench {
  #target: Target | undefined

  constructor (private readonly options: ReplayOptions) {}

  /** Why `plan` broke the broker, or undefined when the broker is still healthy after it. */
  async breaks (plan: SessionPlan, paceMs: number): Promise<string | undefined> {
    this.#target ??= await Target.start(this.options.targetOptions)
    await runSession(plan, this.#target.endpoint, { ...(this.options.session ?? DEFAULT_SESSION_OPTIONS), paceMs })
    const problem = await healthProblem(this.#target, plan.transport, this.options.probeTimeoutMs)
    if (problem !== undefined) {
      await this.#target.stop(500)
      this.#target = undefined
    }
    return problem
  }

  async close (): Promise<void> {
    await this.#target?.stop()
    this.#target = undefined
  }
}

/** Replays sessions on a fresh broker and reports what broke it, if anything. */
export async function replayOnFreshTarget (plans: readonly SessionPlan[], parallel: boolean, paceMs: number, options: ReplayOptions): Promise<ReplayOutcome> {
  const target = await Target.start(options.targetOptions)
  try {
    const session = { ...(options.session ?? DEFAULT_SESSION_OPTIONS), paceMs }
    if (parallel) await runSessions(plans, target.endpoint, session, options.concurrency)
    else for (const plan of plans) await runSession(plan, target.endpoint, session)
    const reason = await healthProblem(target, 'tcp', options.probeTimeoutMs) ?? await healthProblem(target, 'ws', options.probeTimeoutMs)
    return { ...(reason === undefined ? {} : { reason }), fatal: target.fatal(), stderrTail: target.stderrTail(60) }
  } finally {
    await target.stop(500)
  }
}

/** Replays a saved case on a fresh broker, with the broker options and pacing it was saved with. */
export function replayCase (regression: RegressionCase, options: ReplayOptions): Promise<ReplayOutcome> {
  const targetOptions = { ...options.targetOptions, ...(regression.broker === undefined ? {} : { broker: regression.broker }) }
  return replayOnFreshTarget(regression.sessions.map(fromSaved), regression.parallel, regression.paceMs, { ...options, targetOptions })
}

/**
 * The index of the session after which a fresh broker, fed the batch's sessions one by one in order,
 * breaks. The session may still need what the ones before it left behind; triageCrash checks.
 */
async function isolate (plans: readonly SessionPlan[], options: ReplayOptions): Promise<{ index: number, paceMs: number } | undefined> {
  for (const paceMs of PACES) {
    const bench = new Bench(options)
    try {
      for (const [index, plan] of plans.entries()) {
        if (await bench.breaks(plan, paceMs) !== undefined) return { index, paceMs }
      }
    } finally {
      await bench.close()
    }
  }
  return undefined
}

/** The plan with packet `drop` left out (if given) and one write per packet, so packets can be dropped cleanly. */
function perPacket (plan: SessionPlan, drop?: number): SessionPlan {
  const keep = (_: unknown, i: number): boolean => i !== drop
  const packets = plan.packets.filter(keep)
  return {
    ...plan,
    packets,
    notes: plan.notes.filter(keep),
    chunks: packets.map(p => p.length).filter(n => n > 0),
    pauses: [], // paced replays pause after every write
    gateAt: plan.gateAt > 0 && packets.length > 0 ? packets[0]!.length : 0
  }
}

/** The first `n` packets of a plan, one write each. */
function prefix (plan: SessionPlan, n: number): SessionPlan {
  return perPacket({ ...plan, packets: plan.packets.slice(0, n), notes: plan.notes.slice(0, n) })
}

/**
 * Shrinks a crashing session, every try on a fresh broker (state left by an
 * earlier try, a persistent session or a QoS 2 packet id already seen, would
 * change what the next one does), with one paced write per packet:
 * 1. the shortest prefix that still breaks the broker: what follows the
 *    trigger is noise, and can even hide it (a malformed packet read in the
 *    same chunk as the trigger gets the connection closed first);
 * 2. then each earlier packet dropped in turn, kept dropped if the broker
 *    still breaks.
 * The session ends once the broker has gone quiet (so dropping a packet does
 * not also change how long the broker had to process the rest) or, failing
 * that, as found. If no prefix breaks a fresh broker, the session is kept as found.
 */
async function minimize (plan: SessionPlan, paceMs: number, options: ReplayOptions, budgetMs: number): Promise<{ plan: SessionPlan, paceMs: number }> {
  const pace = Math.max(paceMs, ...PACES)
  const deadline = Date.now() + budgetMs
  const breaks = async (candidate: SessionPlan): Promise<boolean> =>
    (await replayOnFreshTarget([candidate], false, pace, options)).reason !== undefined
  let current: SessionPlan | undefined
  for (const end of new Set(['settle' as const, plan.end])) {
    const ending = { ...plan, end }
    if (current) break
    if (await breaks(prefix(ending, plan.packets.length))) {
      // Binary search, assuming a prefix that holds the trigger breaks the broker.
      let lo = 0
      let hi = plan.packets.length
      while (hi - lo > 1 && Date.now() < deadline) {
        const mid = (lo + hi) >> 1
        if (await breaks(prefix(ending, mid))) hi = mid
        else lo = mid
      }
      current = prefix(ending, hi)
    } else {
      // The whole session no longer breaks it (something after the trigger hides it): scan prefixes.
      for (let n = 1; n < plan.packets.length && !current && Date.now() < deadline; n++) {
        const candidate = prefix(ending, n)
        if (await breaks(candidate)) current = candidate
      }
    }
  }
  if (!current) return { plan, paceMs }
  for (let i = current.packets.length - 2; i >= 0 && Date.now() < deadline; i--) {
    const candidate = perPacket(current, i)
    if (await breaks(candidate)) current = candidate
  }
  return { plan: current, paceMs: pace }
}

/**
 * Handles a crash found in `batch`: reports the broker's stderr, isolates and
 * shrinks the culprit (on fresh brokers), and saves the regression case.
 * `target` is the broken broker; it is left to the caller to stop.
 */
export async function triageCrash (batch: number, plans: SessionPlan[], reason: string, target: Target, options: TriageOptions): Promise<Crash> {
  const log = options.log
  if (!target.alive()) await target.settled() // all of a dead child's stderr, stack included
  const fatal = target.fatal()
  const stderrTail = target.stderrTail(60)
  log(`CRASH in batch ${batch} (seed ${options.seed}): ${reason}`)
  log(`--- broker stderr (tail) ---\n${(fatal.length > 0 ? fatal : stderrTail).join('\n')}\n---`)

  const crash: Crash = { batch, reason, fatal, stderrTail, isolated: false, reproduced: false }
  let sessions = plans
  let paceMs = 0
  let parallel = true
  if (options.isolate) {
    log(`isolating: replaying the ${plans.length} sessions of batch ${batch} one by one on a fresh broker`)
    const found = await isolate(plans, options)
    const culprit = found === undefined ? undefined : plans[found.index]!
    if (found && culprit) {
      log(`the broker broke after session ${culprit.seed} (${culprit.transport}, ${culprit.packets.length} packets, ` +
        `#${found.index + 1} of the batch${found.paceMs > 0 ? `, paced ${found.paceMs} ms` : ''}); shrinking it`)
      const small = await minimize(culprit, found.paceMs, options, options.minimizeMs ?? 60_000)
      paceMs = small.paceMs
      parallel = false
      if (small.plan !== culprit) {
        // minimize() only returns a shrunk session that broke fresh brokers on its own.
        crash.minimized = { from: culprit.packets.length, to: small.plan.packets.length }
        sessions = [small.plan]
        crash.isolated = true
        crash.reproduced = true
      } else if ((await replayOnFreshTarget([culprit], false, paceMs, options)).reason !== undefined) {
        sessions = [culprit]
        crash.isolated = true
        crash.reproduced = true
      } else {
        // It needs what the sessions before it left behind: keep them, replayed in order.
        sessions = plans.slice(0, found.index + 1)
        crash.reproduced = (await replayOnFreshTarget(sessions, false, paceMs, options)).reason !== undefined
      }
      log(crash.isolated
        ? `isolated to one session: ${sessions[0]!.notes.join(' ')}`
        : `not isolated: saving the ${sessions.length} sessions up to it, replayed in order (${crash.reproduced ? 'reproduces' : 'did not reproduce'})`)
    } else {
      crash.reproduced = (await replayOnFreshTarget(plans, true, 0, options)).reason !== undefined
      log(crash.reproduced
        ? 'not isolated, but the whole batch reproduces it when replayed concurrently'
        : 'did not reproduce on a fresh broker (it needed state from earlier batches, or a timing the replay missed)')
    }
  }
  if (options.corpusDir !== undefined) {
    const regression: RegressionCase = {
      format: 'embedmq-fuzz-regression/1',
      name: `seed-${options.seed}-batch-${batch}`,
      savedAt: new Date().toISOString(),
      runSeed: options.seed,
      batch,
      reason,
      fatal,
      stderrTail: stderrTail.slice(-20),
      isolated: crash.isolated,
      reproduced: crash.reproduced,
      parallel,
      paceMs,
      ...(options.targetOptions?.broker === undefined ? {} : { broker: options.targetOptions.broker }),
      sessions: sessions.map(toSaved)
    }
    crash.savedTo = saveCase(regression, options.corpusDir)
    log(`saved regression case ${crash.savedTo}`)
  }
  return crash
}
