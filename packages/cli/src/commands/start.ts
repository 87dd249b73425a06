import { createBroker, createLogger, type Logger } from '@embedmq/core'
import type { StartOptions } from '../args.js'
import { ExitCode, signalExitCode } from '../exit-codes.js'
import type { CliIo } from '../io.js'
import { cliVersion } from '../version.js'
import { resolveStartConfig, securityNotices } from './start-config.js'
import { currentWorker, runPrimary, runWorker, type WorkerRole } from './workers.js'

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/**
 * `embedmq start`: runs a broker until SIGINT/SIGTERM. Resolves with the exit
 * code once the broker has stopped, or at once on a second signal (the broker
 * may still be draining then; the bin exits regardless). Config and listen
 * errors reject with the core's EmbedmqError, which runCli reports.
 *
 * With `--workers` this process becomes a node:cluster primary that forks
 * workers (see workers.ts); each worker runs this same function as a worker.
 */
export async function runStart (options: StartOptions, io: CliIo): Promise<number> {
  const worker = currentWorker(io.env)
  if (worker !== undefined) return await runWorker(worker, io, (workerIo, role) => runBroker(options, workerIo, role))
  if (options.workers !== undefined) return await runPrimary(options, options.workers, io)
  return await runBroker(options, io)
}

/** One broker in this process: the whole of `embedmq start`, or one worker of `--workers`. */
async function runBroker (options: StartOptions, io: CliIo, worker?: WorkerRole): Promise<number> {
  const resolved = await resolveStartConfig(options, io.env)
  const base: Logger = io.logger ?? createLogger(resolved.config.logLevel)
  const logger = worker === undefined ? base : base.child({ worker: worker.number })
  let config = resolved.config
  if (worker === undefined) {
    logger.info({ version: cliVersion(), config: resolved.file ?? null },
      resolved.file === undefined ? 'starting embedmq with built-in defaults (no config file)' : `starting embedmq with config file ${resolved.file}`)
    // The primary logs these once for all workers.
    for (const notice of securityNotices(resolved)) logger.warn(notice)
  } else {
    // Brokers sharing a cluster bus need distinct ids: a configured one gets the worker number; without one each is random.
    if (config.id !== undefined) config = { ...config, id: `${config.id}-${worker.number}` }
    logger.info({ version: cliVersion() }, `starting worker ${worker.number}`)
  }

  const broker = createBroker({ ...config, logger })

  let stopping = false
  let settle: (code: number) => void = () => undefined
  const finished = new Promise<number>(resolve => { settle = resolve })
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // The broker waits up to drainTimeoutMs for in-flight messages; a second signal means "now".
      logger.warn({ signal }, `received ${signal} again: exiting without waiting for the broker to stop`)
      settle(signalExitCode(signal))
      return
    }
    stopping = true
    logger.info({ signal }, `received ${signal}: stopping${worker === undefined ? ' (send it again to exit at once)' : ''}`)
    broker.stop().then(() => settle(ExitCode.ok), (err: unknown) => {
      io.stderr.write(`embedmq: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`)
      settle(ExitCode.error)
    })
  }

  // Listening before start: a Ctrl-C during a slow plugin start still stops cleanly (stop() waits for start).
  for (const signal of STOP_SIGNALS) io.signals.on(signal, onSignal)
  try {
    // Raced with `finished`, so a second signal also works while a plugin's start hangs.
    const started = broker.start()
    started.catch(() => undefined) // observed by the race below, or abandoned by a forced exit
    const forced = await Promise.race([started.then(() => undefined), finished])
    if (forced !== undefined) return forced
    if (!stopping) {
      if (worker === undefined) logger.info('embedmq is running; stop it with Ctrl-C (SIGINT) or SIGTERM')
      else {
        logger.info(`worker ${worker.number} is running`)
        worker.onRunning()
      }
    }
    return await finished
  } finally {
    for (const signal of STOP_SIGNALS) io.signals.off(signal, onSignal)
  }
}
