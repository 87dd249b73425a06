import { COMMANDS, GLOBAL_FLAGS, findCommand, type CommandName, type FlagSpec } from './args.js'

/** Help text is generated from the same flag tables the parser uses, so the two cannot drift apart. */

function flagLines (flags: readonly FlagSpec[]): string[] {
  const left = flags.map(f => `${f.short === undefined ? '    ' : `-${f.short}, `}--${f.name}${f.value === undefined ? '' : ` <${f.value}>`}`)
  const width = Math.max(...left.map(l => l.length))
  return flags.map((f, i) => `  ${(left[i] ?? '').padEnd(width)}  ${f.description}`)
}

const START_NOTES = [
  'Precedence: flags, then EMBEDMQ_* environment variables, then the config file.',
  'Environment: EMBEDMQ_<SETTING>, with __ between levels, overrides a config setting,',
  '  e.g. EMBEDMQ_LIMITS__MAX_PACKET_SIZE=65536, EMBEDMQ_LOG_LEVEL=debug.',
  '--port and --ws-port set the config\'s tcp and ws listener (adding one if it has none);',
  '--host sets every listener\'s bind address.',
  '--workers n forks n broker processes (node:cluster) that share the listener ports;',
  '  more than one needs @embedmq/persistence-redis in the config (the memory and SQLite',
  '  stores are per process), and fixed ports (not 0). Signals go to the primary, which',
  '  stops every worker; a worker that dies is restarted. Limits apply per worker.',
  '',
  'Exit codes: 0 stopped cleanly, 1 error (bad config, port in use…), 2 usage error,',
  '  128+n forced exit on a second signal (130 SIGINT, 143 SIGTERM).'
]

const PASSWD_NOTES = [
  'Adds <user> to <file> or changes their password; creates <file> (mode 0600) when missing.',
  'The password is read from the terminal with echo off (asked twice), or from the first',
  'line of stdin when it is not a terminal — never from the command line:',
  '  printf \'%s\\n\' "$DEVICE_PASSWORD" | embedmq passwd /etc/embedmq/passwd press-7',
  'The file is what @embedmq/auth-file reads (user:$scrypt$… lines); a running broker',
  'reloads it on change.',
  '',
  'Exit codes: 0 done, 1 refused (bad username, empty password, file that cannot be',
  '  parsed or written, --delete of a user not in the file), 2 usage error.'
]

const NOTES: Record<CommandName, readonly string[]> = { start: START_NOTES, passwd: PASSWD_NOTES }

export function usage (command?: CommandName): string {
  const spec = command === undefined ? undefined : findCommand(command)
  if (spec) {
    return [
      `Usage: embedmq ${spec.name} [options]${spec.operands === undefined ? '' : ` ${spec.operands}`}`,
      '',
      `${spec.summary}.`,
      '',
      'Options:',
      ...flagLines(spec.flags),
      '',
      ...NOTES[spec.name],
      ''
    ].join('\n')
  }
  const width = Math.max(...COMMANDS.map(c => c.name.length))
  return [
    'Usage: embedmq <command> [options]',
    '',
    'embedmq: a standalone MQTT broker (TCP and WebSocket), and its password file tool.',
    '',
    'Commands:',
    ...COMMANDS.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Run \'embedmq <command> --help\' for a command\'s options.',
    ''
  ].join('\n')
}
