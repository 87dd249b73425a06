import { readFile } from 'node:fs/promises'
import { topicFilterProblem } from '@embedmq/core'
import { fileError, LineError } from './errors.js'
import { splitLines } from './lines.js'

/**
 * The ACL file, in Mosquitto's syntax:
 *
 *   # comment
 *   topic read public/#            ← before any `user` line: clients without a username
 *   user anna
 *   topic readwrite sensors/anna/#
 *   topic deny sensors/anna/secret
 *   pattern write devices/%c/status ← any position: applies to every client
 *
 * `topic [read|write|readwrite|deny] <filter>` (readwrite when the access is
 * left out), `pattern …` the same with %u (username) and %c (client id).
 */

/** What a rule grants (or, for deny, takes away). */
export type Access = 'read' | 'write' | 'readwrite' | 'deny'

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny'])

/** One `topic` or `pattern` line. */
export interface AclRule {
  access: Access
  /** The topic filter as written (a pattern still holds %u/%c). */
  filter: string
  /** Where it is, for log lines that say which rule decided. */
  line: number
  kind: 'topic' | 'pattern'
}

/** A parsed ACL file. */
export interface AclTable {
  /** `topic` lines before any `user` line: for clients without a username. */
  anonymous: readonly AclRule[]
  /** `topic` lines per user section (sections of the same name are merged). */
  users: ReadonlyMap<string, readonly AclRule[]>
  /** `pattern` lines, wherever they are: for every client. */
  patterns: readonly AclRule[]
  /** Lines that parse but are probably not what was meant. */
  warnings: ReadonlyArray<{ line: number, message: string }>
}

/** `<first> [<rest>]`, split at the first run of whitespace. */
function firstWord (text: string): [string, string | undefined] {
  const match = /^(\S+)(?:\s+(.*))?$/.exec(text)
  return [match?.[1] ?? '', match?.[2]]
}

function parseRule (kind: 'topic' | 'pattern', args: string | undefined, line: number): AclRule {
  if (args === undefined) throw new LineError(line, `"${kind}" needs a topic: ${kind} [read|write|readwrite|deny] <topic>`)
  const [first, rest] = firstWord(args)
  let access: Access
  let filter: string
  if (rest === undefined) {
    if (ACCESS.has(first)) throw new LineError(line, `"${kind} ${first}" needs a topic after the access`)
    access = 'readwrite'
    filter = first
  } else {
    // Mosquitto would take "reed a/b" as a topic with a space; a typo in the access must not silently grant readwrite.
    if (!ACCESS.has(first)) {
      throw new LineError(line, `unknown access "${first}" (expected read, write, readwrite or deny; a topic containing spaces needs its access written before it)`)
    }
    access = first as Access
    filter = rest
  }
  const problem = topicFilterProblem(filter)
  if (problem) throw new LineError(line, `the topic "${filter.slice(0, 200)}" ${problem}`)
  return { access, filter, line, kind }
}

/** Parses ACL file contents; throws LineError naming the first bad line. */
export function parseAclFile (bytes: Buffer): AclTable {
  const anonymous: AclRule[] = []
  const users = new Map<string, AclRule[]>()
  const patterns: AclRule[] = []
  const warnings: Array<{ line: number, message: string }> = []
  let section = anonymous
  for (const { number, text } of splitLines(bytes)) {
    const trimmed = text.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const [keyword, args] = firstWord(trimmed)
    switch (keyword) {
      case 'user': {
        if (args === undefined) throw new LineError(number, '"user" needs a username')
        const existing = users.get(args)
        section = existing ?? []
        if (!existing) users.set(args, section)
        break
      }
      case 'topic': {
        const rule = parseRule('topic', args, number)
        if (/%[uc]/.test(rule.filter)) warnings.push({ line: number, message: `"topic ${rule.filter}" is taken literally; %u and %c are only replaced in "pattern" lines` })
        section.push(rule)
        break
      }
      case 'pattern':
        patterns.push(parseRule('pattern', args, number))
        break
      default:
        throw new LineError(number, `unknown directive "${keyword.slice(0, 40)}" (expected user, topic or pattern)`)
    }
  }
  return { anonymous, users, patterns, warnings }
}

/** Reads and parses an ACL file; throws AuthFileError with the file, line and reason. */
export async function readAclFile (file: string): Promise<AclTable> {
  try {
    return parseAclFile(await readFile(file))
  } catch (err) {
    throw fileError('ACL file', file, err)
  }
}
