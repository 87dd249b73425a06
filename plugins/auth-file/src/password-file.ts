import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from './atomic-write.js'
import { AuthFileError, fileError, LineError } from './errors.js'
import { DEFAULT_SCRYPT_PARAMS, HashFormatError, hashPassword, parseHash, type ParsedHash, type ScryptParams } from './hash.js'
import { splitLines, type NumberedLine } from './lines.js'

/**
 * The password file, as Mosquitto's: one `user:hash` per line, `#` comments
 * and blank lines allowed. Hashes are `$scrypt$…` strings (see hash.ts).
 */

/** One user of the password file. */
export interface PasswordEntry {
  username: string
  hash: ParsedHash
  /** Where the entry is, for messages. */
  line: number
}

/** Users by name. */
export type PasswordTable = ReadonlyMap<string, PasswordEntry>

/** The longest username MQTT can carry (a UTF-8 string with a 16-bit length). */
const MAX_USERNAME_BYTES = 65535

/**
 * Why `username` cannot be in a password file, or undefined when it can:
 * ':' separates it from the hash, whitespace and control characters would be
 * invisible in the file, and a leading '#' would make the line a comment.
 */
export function usernameProblem (username: string): string | undefined {
  if (username.length === 0) return 'the username is empty'
  if (username.includes(':')) return "the username contains ':', which separates it from the hash"
  if (/\s/u.test(username)) return 'the username contains whitespace'
  if (/\p{Cc}/u.test(username)) return 'the username contains a control character'
  if (username.startsWith('#')) return "the username starts with '#', which would make the line a comment"
  if (Buffer.byteLength(username) > MAX_USERNAME_BYTES) return `the username is longer than ${MAX_USERNAME_BYTES} bytes`
  if (username.includes('\uFFFD')) return 'the username contains U+FFFD (bytes that were not UTF-8)'
  return undefined
}

const isIgnored = (text: string): boolean => text.trim() === '' || text.trimStart().startsWith('#')

function parseLine ({ number, text }: NumberedLine): PasswordEntry {
  const trimmed = text.trim()
  const colon = trimmed.indexOf(':')
  if (colon === -1) throw new LineError(number, 'expected <username>:<hash>, found no \':\'')
  const username = trimmed.slice(0, colon)
  const problem = usernameProblem(username)
  if (problem) throw new LineError(number, problem)
  try {
    return { username, hash: parseHash(trimmed.slice(colon + 1)), line: number }
  } catch (err) {
    if (err instanceof HashFormatError) throw new LineError(number, `user "${username}": ${err.reason}`)
    throw err
  }
}

/** Parses password file contents; throws LineError naming the first bad line. */
export function parsePasswordFile (bytes: Buffer): PasswordTable {
  const table = new Map<string, PasswordEntry>()
  for (const line of splitLines(bytes)) {
    if (isIgnored(line.text)) continue
    const entry = parseLine(line)
    const earlier = table.get(entry.username)
    if (earlier) throw new LineError(line.number, `user "${entry.username}" is already defined on line ${earlier.line}`)
    table.set(entry.username, entry)
  }
  return table
}

/** Reads and parses a password file; throws AuthFileError with the file, line and reason. */
export async function readPasswordFile (file: string): Promise<PasswordTable> {
  try {
    return parsePasswordFile(await readFile(file))
  } catch (err) {
    throw fileError('password file', file, err)
  }
}

/** The file's lines (for editing in place) and its parsed table; a missing file is empty. */
async function readForEdit (file: string): Promise<{ lines: NumberedLine[], table: PasswordTable, existed: boolean }> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], table: new Map(), existed: false }
    throw fileError('password file', file, err)
  }
  try {
    return { lines: splitLines(bytes), table: parsePasswordFile(bytes), existed: true }
  } catch (err) {
    // Never rewrite a file we do not understand: the user fixes it first, nothing is lost.
    throw fileError('password file', file, err)
  }
}

const render = (lines: readonly string[]): string => (lines.length === 0 ? '' : `${lines.join('\n')}\n`)

/** Edits to one file run one after another within this process, so concurrent calls do not lose each other's change. */
const queues = new Map<string, Promise<unknown>>()
function serialized<T> (file: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve()
  const run = previous.then(work, work)
  const settled = run.catch(() => undefined)
  queues.set(file, settled)
  void settled.then(() => { if (queues.get(file) === settled) queues.delete(file) })
  return run
}

/** What setPassword did. */
export type SetPasswordResult = 'added' | 'changed'

/**
 * Adds a user or changes their password, keeping every other line (comments
 * included) as it was. Creates the file with mode 0600 when it is missing;
 * writes atomically (temporary file, then rename). Throws AuthFileError when
 * the existing file cannot be parsed, and a plain Error for a bad username
 * or an empty password.
 */
export async function setPassword (file: string, username: string, password: string | Buffer, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<SetPasswordResult> {
  const problem = usernameProblem(username)
  if (problem) throw new Error(`cannot set a password for ${JSON.stringify(username)}: ${problem}`)
  if (password.length === 0) throw new Error('the password is empty')
  const hash = await hashPassword(password, params)
  return serialized(file, async () => {
    const { lines, table } = await readForEdit(file)
    const texts = lines.map(l => l.text)
    const entry = `${username}:${hash}`
    const existing = table.get(username)
    if (existing) texts[existing.line - 1] = entry
    else texts.push(entry)
    await writeFileAtomic(file, render(texts))
    return existing ? 'changed' : 'added'
  })
}

/**
 * Removes a user from the password file, keeping every other line. Resolves
 * false when the user is not in it (the file is left untouched); throws
 * AuthFileError when the file is missing or cannot be parsed.
 */
export async function deletePassword (file: string, username: string): Promise<boolean> {
  return serialized(file, async () => {
    const { lines, table, existed } = await readForEdit(file)
    if (!existed) throw new AuthFileError('password file', file, 'does not exist')
    const existing = table.get(username)
    if (!existing) return false
    await writeFileAtomic(file, render(lines.filter(l => l.number !== existing.line).map(l => l.text)))
    return true
  })
}
