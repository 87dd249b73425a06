import { parseArgs, type ParseArgsConfig } from 'node:util'

/**
 * The command line: `embedmq [--help | --version]` or `embedmq <command> [flags]`.
 * Parsing is strict (unknown flags are errors, not ignored) and produces typed
 * invocations, so commands never see raw argv. A new command adds a FlagSpec
 * table, a case in `parseCommand`, and a member of `Invocation`.
 */

export type CommandName = 'start' | 'passwd'

/** A flag, for both the parser and the help text. `value` names its argument; without it the flag is a switch. */
export interface FlagSpec {
  readonly name: string
  readonly short?: string
  readonly value?: string
  readonly description: string
}

export interface CommandSpec {
  readonly name: CommandName
  readonly summary: string
  /** Positional arguments, as the usage line shows them; commands without take none. */
  readonly operands?: string
  readonly flags: readonly FlagSpec[]
}

const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', description: 'Show this help' }

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'help', short: 'h', description: 'Show help (embedmq <command> --help for a command)' },
  { name: 'version', description: 'Print the version' }
]

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'start',
    summary: 'Run a broker until SIGINT or SIGTERM',
    flags: [
      { name: 'config', short: 'c', value: 'file', description: 'YAML or JSON config file. Without one: listeners on 127.0.0.1 only, anonymous clients allowed' },
      { name: 'host', value: 'host', description: 'Bind address for every listener (default: as in the config file, else 127.0.0.1)' },
      { name: 'port', short: 'p', value: 'port', description: 'MQTT over TCP port (default 1883; 0 picks a free port)' },
      { name: 'ws-port', value: 'port', description: 'MQTT over WebSocket port, path /mqtt (default 8083; 0 picks a free port)' },
      { name: 'workers', value: 'n', description: 'Run n broker processes sharing the ports (node:cluster); 0 or auto: one per CPU. More than 1 needs a shared store (@embedmq/persistence-redis)' },
      HELP_FLAG
    ]
  },
  {
    name: 'passwd',
    summary: 'Add a user to a password file, change their password, or delete them',
    operands: '<file> <user>',
    flags: [
      { name: 'delete', short: 'D', description: 'Delete the user instead of setting a password' },
      HELP_FLAG
    ]
  }
]

/** What `embedmq start` was asked to do; unset fields come from the config file or the defaults. */
export interface StartOptions {
  config?: string
  host?: string
  port?: number
  wsPort?: number
  /** `--workers`: how many broker processes to fork; 'auto' (`--workers 0` or `auto`) is one per CPU. */
  workers?: number | 'auto'
}

/** What `embedmq passwd` was asked to do. The password is never an argument: it is read from the terminal or stdin. */
export interface PasswdOptions {
  file: string
  username: string
  delete: boolean
}

export type Invocation =
  | { kind: 'help', command?: CommandName }
  | { kind: 'version' }
  | { kind: 'start', options: StartOptions }
  | { kind: 'passwd', options: PasswdOptions }

/** A mistake on the command line: exit code 2, the message, and the usage of `command` (or the top level). */
export class UsageError extends Error {
  constructor (message: string, readonly command?: CommandName) {
    super(message)
    this.name = 'UsageError'
  }
}

export function findCommand (name: string): CommandSpec | undefined {
  return COMMANDS.find(c => c.name === name)
}

type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>

/** node:util parseArgs with its errors turned into UsageErrors (first line only: the rest is advice about `--`). */
function parseFlags (args: readonly string[], flags: readonly FlagSpec[], command?: CommandName, allowPositionals = command === undefined): { values: ParsedValues, positionals: string[] } {
  const options: NonNullable<ParseArgsConfig['options']> = {}
  for (const flag of flags) {
    options[flag.name] = { type: flag.value === undefined ? 'boolean' : 'string', ...(flag.short === undefined ? {} : { short: flag.short }) }
  }
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals })
    return { values, positionals }
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err)
    const short = message.replace(/\. This command does not take positional arguments$/, '')
    throw new UsageError(short.charAt(0).toLowerCase() + short.slice(1), command)
  }
}

function stringFlag (values: ParsedValues, name: string): string | undefined {
  const value = values[name]
  return typeof value === 'string' ? value : undefined
}

/** A TCP port: digits only (no '1e3', no '0x50'), 0–65535; 0 lets the OS choose. */
export function parsePort (flag: string, raw: string, command?: CommandName): number {
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--${flag} must be a port number from 0 to 65535, got '${raw}'`, command)
  return port
}

/** Most worker processes `--workers` accepts: a typo such as 1000 should not fork a thousand brokers. */
export const MAX_WORKERS = 256

/** `--workers`: digits (0 = one per CPU) or 'auto'. */
export function parseWorkers (raw: string): number | 'auto' {
  if (raw === 'auto') return 'auto'
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN
  if (!(n >= 0 && n <= MAX_WORKERS)) throw new UsageError(`--workers must be a number from 0 to ${MAX_WORKERS}, or auto (0 and auto: one per CPU), got '${raw}'`, 'start')
  return n === 0 ? 'auto' : n
}

function parseStart (args: readonly string[]): Invocation {
  const spec = findCommand('start')
  if (!spec) throw new Error('the start command is not registered')
  const { values } = parseFlags(args, spec.flags, 'start')
  if (values.help === true) return { kind: 'help', command: 'start' }
  const options: StartOptions = {}
  const config = stringFlag(values, 'config')
  if (config !== undefined) {
    if (config === '') throw new UsageError('--config needs a file path', 'start')
    options.config = config
  }
  const host = stringFlag(values, 'host')
  if (host !== undefined) {
    if (host.trim() === '') throw new UsageError('--host needs an address, e.g. 127.0.0.1 or 0.0.0.0', 'start')
    options.host = host
  }
  const port = stringFlag(values, 'port')
  if (port !== undefined) options.port = parsePort('port', port, 'start')
  const wsPort = stringFlag(values, 'ws-port')
  if (wsPort !== undefined) options.wsPort = parsePort('ws-port', wsPort, 'start')
  const workers = stringFlag(values, 'workers')
  if (workers !== undefined) {
    options.workers = parseWorkers(workers)
    for (const [flag, value] of [['port', options.port], ['ws-port', options.wsPort]] as const) {
      if (value === 0) throw new UsageError(`--${flag} 0 cannot be used with --workers: the workers share each listener's port, and an OS-chosen port cannot be shared; give a fixed port`, 'start')
    }
  }
  return { kind: 'start', options }
}

function parsePasswd (args: readonly string[]): Invocation {
  const spec = findCommand('passwd')
  if (!spec) throw new Error('the passwd command is not registered')
  const { values, positionals } = parseFlags(args, spec.flags, 'passwd', true)
  if (values.help === true) return { kind: 'help', command: 'passwd' }
  if (positionals.length < 2) throw new UsageError(`missing ${positionals.length === 0 ? '<file> and <user>' : '<user>'}`, 'passwd')
  if (positionals.length > 2) {
    // Never echo it: a third argument is most likely a password typed where it must not go.
    throw new UsageError('too many arguments: the password is never given on the command line; it is read from the terminal or from stdin', 'passwd')
  }
  const [file = '', username = ''] = positionals
  if (file === '') throw new UsageError('<file> must not be empty', 'passwd')
  return { kind: 'passwd', options: { file, username, delete: values.delete === true } }
}

function parseCommand (name: CommandName, args: readonly string[]): Invocation {
  switch (name) {
    case 'start': return parseStart(args)
    case 'passwd': return parsePasswd(args)
  }
}

/**
 * Global flags may only come before the command (`embedmq --help`), command
 * flags only after it (`embedmq start --port 1884`). `embedmq help [command]`
 * is accepted as a synonym for `--help`.
 */
export function parseCommandLine (argv: readonly string[]): Invocation {
  const at = argv.findIndex(arg => !arg.startsWith('-'))
  const globals = at === -1 ? argv : argv.slice(0, at)
  const { values } = parseFlags(globals, GLOBAL_FLAGS)
  if (values.help === true) return { kind: 'help' }
  if (values.version === true) return { kind: 'version' }
  if (at === -1) throw new UsageError('missing command')

  const name = argv[at] ?? ''
  const rest = argv.slice(at + 1)
  if (name === 'help') {
    if (rest.length === 0) return { kind: 'help' }
    const target = findCommand(rest[0] ?? '')
    if (!target || rest.length > 1) throw new UsageError(`unknown command '${rest.join(' ')}'`)
    return { kind: 'help', command: target.name }
  }
  const command = findCommand(name)
  if (!command) throw new UsageError(`unknown command '${name}'`)
  return parseCommand(command.name, rest)
}
