import { constants } from 'node:os'

/** What `embedmq` exits with; documented in the README, so scripts and supervisors can rely on it. */
export const ExitCode = {
  /** The command finished, or the broker stopped cleanly after SIGINT/SIGTERM. */
  ok: 0,
  /** The command failed: bad config, port in use, a plugin that would not start… */
  error: 1,
  /** The command line was wrong: unknown command or flag, bad flag value. */
  usage: 2
} as const

/** 128 + signal number: the shell convention for "ended by a signal" (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode (signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}
