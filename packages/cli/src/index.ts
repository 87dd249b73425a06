/**
 * @embedmq/cli: the `embedmq` command (`start`, `passwd`). `runCli` runs it in-process (for tests,
 * or a host that wants `embedmq start` behaviour without spawning).
 */
export { runCli } from './cli.js'
export { processIo, type CliIo, type InputSource, type SignalSource, type TextSink } from './io.js'
export { parseCommandLine, parseWorkers, MAX_WORKERS, UsageError, type CommandName, type Invocation, type PasswdOptions, type StartOptions } from './args.js'
export { ExitCode, signalExitCode } from './exit-codes.js'
export {
  resolveStartConfig, applyListenerFlags, defaultListeners, securityNotices,
  DEFAULT_HOST, DEFAULT_TCP_PORT, DEFAULT_WS_PORT, DEFAULT_WS_PATH, type ResolvedStartConfig
} from './commands/start-config.js'
export { usage } from './usage.js'
export { usesSharedPersistence, WORKER_ENV } from './commands/workers.js'
