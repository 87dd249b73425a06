import cluster, { type Worker } from 'node:cluster'
import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createLogger, EmbedmqError, type BrokerConfig, type Logger } from '@embedmq/core'
import { UsageError, type StartOptions } from '../args.js'
import { ExitCode, signalExitCode } from '../exit-codes.js'
import type { CliIo, SignalSource } from '../io.js'
import { cliVersion } from '../version.js'
import { resolveStartConfig, securityNotices } from './start-config.js'

/**
 * `embedmq start --workers N`: a node:cluster primary forks N workers, each a
 * whole broker (`embedmq start` without --workers) on the same listener ports;
 * the primary accepts connections and hands them out (node:cluster's default
 * round-robin on Linux). The brokers form one cluster over a shared store and
 * bus (@embedmq/persistence-redis), exactly as brokers in separate processes
 * or machines would.
 *
 * The primary: validates the config once, forks worker 1 and waits until it
 * runs (so a bad port or an unreachable Redis is reported once, not N times),
 * then the others; restarts a worker that dies with exponential backoff;
 * forwards SIGINT/SIGTERM and waits for every worker to stop; on a second
 * signal kills them (SIGKILL) and exits 128+n.
 */

/**
 * Tells a forked process which worker it is (1…N, kept across restarts). It
 * starts with EMBEDMQ_ like the config overrides, so the worker removes it
 * before reading those.
 */
export const WORKER_ENV = 'EMBEDMQ_WORKER'

/** Backoff of a worker that keeps dying: 1 s, 2 s, 4 s … 30 s; reset once a worker stayed up this long. */
const RESTART_BASE_MS = 1000
const RESTART_MAX_MS = 30_000
const RESTART_RESET_AFTER_MS = 60_000

/** The bin the workers run: dist/src/commands/workers.js → dist/src/bin.js (not process.argv[1], which is not the bin when runCli runs in-process). */
const BIN = fileURLToPath(new URL('../bin.js', import.meta.url))

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/** What a worker tells the primary once its broker runs. */
interface ReadyMessage { embedmq: 'ready', worker: number }

function isReady (message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { embedmq?: unknown }).embedmq === 'ready'
}

/** This process's worker number when it is a worker forked by `embedmq start --workers`. */
export function currentWorker (env: NodeJS.ProcessEnv): number | undefined {
  if (!cluster.isWorker) return undefined
  const n = Number(env[WORKER_ENV])
  return Number.isInteger(n) && n > 0 ? n : undefined
}

/**
 * Whether the configuration loads a store every worker shares. Detected by
 * the plugin's module name (a `{ module }` entry naming `…persistence-redis…`,
 * as written or as resolved to a file) or, for a plugin object, its name.
 * The memory store and SQLite are per process: with them each worker would
 * have sessions, subscriptions and retained messages of its own.
 */
export function usesSharedPersistence (config: Pick<BrokerConfig, 'plugins'>): boolean {
  return config.plugins.some(p => 'module' in p ? p.module.includes('persistence-redis') : p.name === 'persistence-redis')
}

export interface WorkerRole {
  readonly number: number
  /** Called once the broker runs: tells the primary. */
  onRunning (): void
}

/**
 * A SignalSource that emits one stop request, whatever asked first: SIGINT or
 * SIGTERM on this process (the primary forwards its signal; a terminal's
 * Ctrl-C or systemd's control-group SIGTERM also reach workers directly), or
 * the primary going away (IPC disconnect). Repeats are dropped, so a worker
 * never takes a duplicate for "exit now": forcing is the primary's job
 * (SIGKILL). A request made before anyone listens is replayed to the listener.
 */
class WorkerSignals implements SignalSource {
  readonly #emitter = new EventEmitter()
  #requested: NodeJS.Signals | undefined

  request (signal: NodeJS.Signals): void {
    if (this.#requested !== undefined) return
    this.#requested = signal
    this.#emitter.emit(signal, signal)
  }

  on (signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): void {
    this.#emitter.on(signal, listener)
    const requested = this.#requested
    if (requested === signal) queueMicrotask(() => listener(requested))
  }

  off (signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): void {
    this.#emitter.off(signal, listener)
  }
}

/** Runs `run` as worker `number`: worker-only environment and signals, readiness reported over IPC, IPC closed at the end so the process can exit. */
export async function runWorker (number: number, io: CliIo, run: (io: CliIo, role: WorkerRole) => Promise<number>): Promise<number> {
  const env = { ...io.env }
  delete env[WORKER_ENV]
  const signals = new WorkerSignals()
  const onSignal = (signal: NodeJS.Signals): void => signals.request(signal)
  // The primary went away. node:cluster itself exits a worker at once then (process.exit(0) on an
  // unexpected disconnect), so this only matters if that ever changes.
  const onDisconnect = (): void => signals.request('SIGTERM')
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
  process.on('disconnect', onDisconnect)
  try {
    return await run({ ...io, env, signals }, {
      number,
      onRunning: () => { if (process.connected) process.send?.({ embedmq: 'ready', worker: number } satisfies ReadyMessage) }
    })
  } finally {
    process.off('disconnect', onDisconnect)
    // An open IPC channel keeps the worker alive. Worker#disconnect (not process.disconnect, after which
    // node:cluster calls process.exit(0)) lets it exit with its own code. The signal handlers stay: a late
    // SIGTERM must not kill it mid-exit.
    if (process.connected) cluster.worker?.disconnect()
  }
}

/** The `embedmq start` arguments a worker runs with: the same, without --workers. */
function workerArgs (options: StartOptions): string[] {
  const args = ['start']
  if (options.config !== undefined) args.push('--config', options.config)
  if (options.host !== undefined) args.push('--host', options.host)
  if (options.port !== undefined) args.push('--port', String(options.port))
  if (options.wsPort !== undefined) args.push('--ws-port', String(options.wsPort))
  return args
}

interface Slot {
  readonly number: number
  worker?: Worker
  ready: boolean
  readyAt: number
  failures: number
  timer?: NodeJS.Timeout
}

/** The node:cluster primary of `embedmq start --workers`. */
export async function runPrimary (options: StartOptions, requested: number | 'auto', io: CliIo): Promise<number> {
  // Validated here once, so config mistakes are one error line rather than one per worker.
  const resolved = await resolveStartConfig(options, io.env)
  const count = requested === 'auto' ? availableParallelism() : requested
  const ephemeral = resolved.config.listeners.find(l => l.port === 0)
  if (ephemeral !== undefined) {
    throw new UsageError(`--workers cannot be used with a listener on port 0 (${ephemeral.name ?? ephemeral.type}): the workers share each listener's port, and an OS-chosen port cannot be shared; give it a fixed port`, 'start')
  }
  if (count > 1 && !usesSharedPersistence(resolved.config)) {
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID',
      `--workers ${count} needs a shared store: each worker is a separate broker process, and the default memory store (or SQLite) cannot be shared between processes, so sessions, subscriptions and retained messages would differ from one connection to the next; add the @embedmq/persistence-redis plugin to the config file, or run without --workers`,
      { workers: count })
  }

  const logger: Logger = (io.logger ?? createLogger(resolved.config.logLevel)).child({ role: 'primary' })
  logger.info({ version: cliVersion(), config: resolved.file ?? null, workers: count },
    `starting embedmq with ${count} worker${count === 1 ? '' : 's'}${resolved.file === undefined ? ' (no config file)' : ` and config file ${resolved.file}`}`)
  for (const notice of securityNotices(resolved)) logger.warn(notice)

  cluster.setupPrimary({ exec: BIN, args: workerArgs(options) })
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(io.env)) if (value !== undefined) env[key] = value

  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ number: i + 1, ready: false, readyAt: 0, failures: 0 }))
  let phase: 'starting' | 'running' | 'stopping' = 'starting'
  let stopSignal: NodeJS.Signals | undefined
  let exitCode: number = ExitCode.ok
  let settle: (code: number) => void = () => undefined
  const finished = new Promise<number>(resolve => { settle = resolve })
  const live = (): Worker[] => slots.flatMap(s => s.worker === undefined ? [] : [s.worker])

  const fork = (slot: Slot): void => {
    slot.timer = undefined
    slot.ready = false
    const worker = cluster.fork({ ...env, [WORKER_ENV]: String(slot.number) })
    slot.worker = worker
    worker.on('message', (message: unknown) => { if (isReady(message)) onReady(slot, worker) })
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => onExit(slot, worker, code, signal))
  }

  const onReady = (slot: Slot, worker: Worker): void => {
    if (slot.worker !== worker) return
    slot.ready = true
    slot.readyAt = Date.now()
    if (phase === 'running') {
      logger.info({ worker: slot.number, workerPid: worker.process.pid }, `worker ${slot.number} restarted (pid ${worker.process.pid ?? '?'})`)
      return
    }
    if (phase !== 'starting') return
    // Worker 1 came up: the config, the ports and the store work; the others can start together.
    if (slot.number === 1) for (const other of slots.slice(1)) fork(other)
    if (slots.every(s => s.ready)) {
      phase = 'running'
      const pids = slots.map(s => s.worker?.process.pid ?? '?')
      logger.info({ workers: count, workerPids: pids }, `embedmq is running with ${count} worker${count === 1 ? '' : 's'} (pids ${pids.join(', ')}); stop it with Ctrl-C (SIGINT) or SIGTERM`)
    }
  }

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    if (slot.worker !== worker) return
    slot.worker = undefined
    const how = signal === null ? `code ${code ?? '?'}` : `signal ${signal}`
    const fields = { worker: slot.number, workerPid: worker.process.pid, code, signal }
    if (phase === 'stopping') {
      // Killed by the very signal forwarded to it (before its handlers were installed) counts as stopped.
      const clean = code === 0 || (signal !== null && signal === stopSignal)
      if (!clean) exitCode = ExitCode.error
      if (clean) logger.info(fields, `worker ${slot.number} stopped`)
      else logger.error(fields, `worker ${slot.number} did not stop cleanly (${how})`)
    } else if (phase === 'starting') {
      // Its own error line is on stderr already (bad port, Redis unreachable…): no restart loop on a broken setup.
      logger.error(fields, `worker ${slot.number} exited (${how}) before it was running; stopping the others`)
      exitCode = ExitCode.error
      beginStop('SIGTERM')
    } else {
      if (slot.ready && Date.now() - slot.readyAt >= RESTART_RESET_AFTER_MS) slot.failures = 0
      const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** slot.failures)
      slot.failures++
      slot.ready = false
      logger.error({ ...fields, restartInMs: delay }, `worker ${slot.number} (pid ${worker.process.pid ?? '?'}) exited unexpectedly (${how}); restarting it in ${delay} ms`)
      slot.timer = setTimeout(() => fork(slot), delay)
    }
    if (phase === 'stopping' && live().length === 0) settle(exitCode)
  }

  const beginStop = (signal: NodeJS.Signals): void => {
    phase = 'stopping'
    stopSignal = signal
    for (const slot of slots) { if (slot.timer !== undefined) clearTimeout(slot.timer); slot.timer = undefined }
    for (const worker of live()) worker.process.kill(signal)
    if (live().length === 0) settle(exitCode)
  }

  let signalled = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      const pids = live().map(w => w.process.pid)
      logger.warn({ signal, workerPids: pids }, `received ${signal} again: killing the workers (SIGKILL) and exiting without waiting for them to stop`)
      for (const worker of live()) worker.process.kill('SIGKILL')
      settle(signalExitCode(signal))
      return
    }
    signalled = true
    logger.info({ signal }, `received ${signal}: stopping ${live().length} worker${live().length === 1 ? '' : 's'} (send it again to exit at once)`)
    if (phase === 'stopping') for (const worker of live()) worker.process.kill(signal)
    else beginStop(signal)
  }

  for (const signal of STOP_SIGNALS) io.signals.on(signal, onSignal)
  try {
    const first = slots[0]
    if (first !== undefined) fork(first)
    const code = await finished
    if (exitCode === ExitCode.ok && code === ExitCode.ok) logger.info('all workers stopped')
    return code
  } finally {
    for (const signal of STOP_SIGNALS) io.signals.off(signal, onSignal)
    for (const slot of slots) if (slot.timer !== undefined) clearTimeout(slot.timer)
  }
}
