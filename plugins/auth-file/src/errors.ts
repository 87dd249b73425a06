/** Which of the plugin's two files a problem is about, for messages a person can act on. */
export type FileKind = 'password file' | 'ACL file'

/**
 * A file the plugin cannot use: unreadable, not UTF-8, or a line it cannot
 * parse. The message names the file, the line (when there is one) and the
 * reason, e.g. `ACL file /etc/embedmq/acl.conf, line 3: unknown access "reed"`.
 */
export class AuthFileError extends Error {
  constructor (
    readonly kind: FileKind,
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    options?: { cause?: unknown }
  ) {
    super(`${kind} ${file}${line === undefined ? '' : `, line ${line}`}: ${reason}`, options)
    this.name = 'AuthFileError'
  }
}

/** A problem on one line, raised by the parsers and turned into an AuthFileError by their callers. */
export class LineError extends Error {
  constructor (readonly line: number, readonly reason: string) {
    super(`line ${line}: ${reason}`)
    this.name = 'LineError'
  }
}

/** Wraps a parser's LineError (or a read error) into an AuthFileError naming the file. */
export function fileError (kind: FileKind, file: string, err: unknown): AuthFileError {
  if (err instanceof AuthFileError) return err
  if (err instanceof LineError) return new AuthFileError(kind, file, err.reason, err.line, { cause: err })
  const e = (err instanceof Error ? err : new Error(String(err))) as NodeJS.ErrnoException
  const reason = e.code === 'ENOENT'
    ? 'does not exist'
    : e.code === 'EACCES' || e.code === 'EPERM'
      ? 'cannot be read: permission denied'
      : e.code === 'EISDIR'
        ? 'is a directory'
        : e.code === 'EFBIG' ? e.message : `cannot be read: ${e.message}`
  return new AuthFileError(kind, file, reason, undefined, { cause: err })
}
