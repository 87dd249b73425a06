import { resolve } from 'node:path'
import { AuthFileError, deletePassword, setPassword, usernameProblem } from '@embedmq/auth-file'
import type { PasswdOptions } from '../args.js'
import { ExitCode, signalExitCode } from '../exit-codes.js'
import type { CliIo } from '../io.js'
import { PasswordInputError, readNewPassword } from '../password-input.js'

/**
 * `embedmq passwd <file> <user> [--delete]`: adds a user to a password file
 * (@embedmq/auth-file's format: scrypt hashes, mode 0600, atomic writes) or
 * changes or deletes one. The password comes from the terminal (echo off,
 * asked twice) or from the first line of stdin, never from argv.
 * Exit 0 done, 1 refused (bad username, empty password, broken file…).
 */
export async function runPasswd (options: PasswdOptions, io: CliIo): Promise<number> {
  const file = resolve(options.file)
  const fail = (message: string): number => {
    io.stderr.write(`embedmq passwd: ${message}\n`)
    return ExitCode.error
  }
  const problem = usernameProblem(options.username)
  // A bad name could not be in the file, so deleting it is refused too, with the same reason.
  if (problem) return fail(`${problem}; usernames may not be empty or contain ':', whitespace or control characters, or start with '#'`)

  try {
    if (options.delete) {
      if (!await deletePassword(file, options.username)) return fail(`user "${options.username}" is not in ${file}`)
      io.stdout.write(`deleted user "${options.username}" from ${file}\n`)
      return ExitCode.ok
    }
    const password = await readNewPassword(io.stdin, io.stderr)
    if (password.length === 0) return fail('the password is empty')
    const result = await setPassword(file, options.username, password)
    io.stdout.write(result === 'added'
      ? `added user "${options.username}" to ${file}\n`
      : `changed the password of user "${options.username}" in ${file}\n`)
    return ExitCode.ok
  } catch (err) {
    if (err instanceof PasswordInputError) return err.cancelled ? signalExitCode('SIGINT') : fail(err.message)
    if (err instanceof AuthFileError) return fail(`${err.message}${err.line === undefined ? '' : '; fix that line first, nothing was changed'}`)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOSPC') {
      return fail(`cannot write ${file}: ${(err as Error).message}`)
    }
    throw err
  }
}
