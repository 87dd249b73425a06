import type { Logger } from '@embedmq/core'

/**
 * A Logger (the core's pino-compatible interface) that prints plain lines a
 * person reads: "12:00:01 cnc-02: connected …". Info goes to stdout, warnings
 * and errors to stderr, so a parent process can tell them apart.
 */
export function lineLogger (write: { out: (line: string) => void, err: (line: string) => void } = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n')
}): Logger {
  const line = (level: string, obj: object | string, msg?: string): string => {
    const text = typeof obj === 'string' ? obj : msg ?? ''
    const time = new Date().toISOString().slice(11, 19)
    return level === 'info' ? `${time} ${text}` : `${time} ${level.toUpperCase()} ${text}`
  }
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: (obj, msg) => write.out(line('info', obj, msg)),
    warn: (obj, msg) => write.err(line('warn', obj, msg)),
    error: (obj, msg) => write.err(line('error', obj, msg)),
    child: () => logger
  }
  return logger
}
