import { isEmbedmqError } from '@embedmq/core'
import { parseCommandLine, UsageError, type Invocation } from './args.js'
import { runPasswd } from './commands/passwd.js'
import { runStart } from './commands/start.js'
import { ExitCode } from './exit-codes.js'
import { processIo, type CliIo } from './io.js'
import { usage } from './usage.js'
import { cliVersion } from './version.js'

/**
 * Runs `embedmq <argv>` and resolves with the exit code; never calls
 * process.exit, so it can run in-process. Expected failures become one line on
 * stderr (exit 1), command-line mistakes the message plus usage (exit 2).
 */
export async function runCli (argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let invocation: Invocation
  try {
    invocation = parseCommandLine(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    return reportUsageError(err, io)
  }

  try {
    switch (invocation.kind) {
      case 'help':
        io.stdout.write(usage(invocation.command))
        return ExitCode.ok
      case 'version':
        io.stdout.write(`${cliVersion()}\n`)
        return ExitCode.ok
      case 'start':
        return await runStart(invocation.options, io)
      case 'passwd':
        return await runPasswd(invocation.options, io)
    }
  } catch (err) {
    // A flag combination only the resolved config shows to be wrong (`--workers` with a `port: 0` listener).
    if (err instanceof UsageError) return reportUsageError(err, io)
    io.stderr.write(`embedmq: ${describeFailure(err)}\n`)
    return ExitCode.error
  }
}

function reportUsageError (err: UsageError, io: CliIo): number {
  const help = err.command === undefined ? 'embedmq --help' : `embedmq ${err.command} --help`
  io.stderr.write(`embedmq: ${err.message}\nRun '${help}' for usage.\n`)
  return ExitCode.usage
}

/** EmbedmqErrors carry a message written for the user: show it and its code, not a stack. Anything else is a bug: show the stack. */
function describeFailure (err: unknown): string {
  if (isEmbedmqError(err)) return `${oneLine(err.message)} (${err.code})`
  if (err instanceof Error) return `unexpected error: ${err.stack ?? err.message}`
  return `unexpected error: ${String(err)}`
}

function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}
