/**
 * Operators and viewers: people who log in to the dashboard with a form (and
 * may use the same credentials for mosquitto_sub over TCP). Passwords are kept
 * as scrypt hashes (@embedmq/auth-file's format), never in plain text.
 */
import { hashPassword, verifyPassword } from '@embedmq/auth-file'
import { z } from 'zod'

export type Role = 'operator' | 'viewer'

export const ROLES: readonly Role[] = ['operator', 'viewer']

/** A user as configured: a plain password (hashed at start) or a hash from `embedmq passwd`. */
export const userSpecSchema = z.object({
  username: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only'),
  role: z.enum(['operator', 'viewer']),
  password: z.string().min(1).optional(),
  passwordHash: z.string().startsWith('$scrypt$', 'a hash from `embedmq passwd` ($scrypt$…)').optional()
}).strict().refine(u => (u.password === undefined) !== (u.passwordHash === undefined), 'give either password or passwordHash')

export type UserSpec = z.infer<typeof userSpecSchema>

/** The demo logins, printed at start-up. Override them with FACTORY_USERS. */
export const DEMO_USERS: readonly UserSpec[] = [
  { username: 'operator', role: 'operator', password: 'operator' },
  { username: 'viewer', role: 'viewer', password: 'viewer' }
]

export interface User {
  username: string
  role: Role
}

export class UserStore {
  readonly #users: Map<string, { role: Role, hash: string }>
  // Unknown usernames are checked against this, so a login attempt takes as long whether the user exists or not.
  readonly #decoy: string

  private constructor (users: Map<string, { role: Role, hash: string }>, decoy: string) {
    this.#users = users
    this.#decoy = decoy
  }

  static async create (specs: readonly UserSpec[]): Promise<UserStore> {
    const users = new Map<string, { role: Role, hash: string }>()
    for (const spec of specs) {
      const hash = spec.passwordHash ?? await hashPassword(spec.password!)
      users.set(spec.username, { role: spec.role, hash })
    }
    return new UserStore(users, await hashPassword('decoy password for unknown users'))
  }

  has (username: string): boolean {
    return this.#users.has(username)
  }

  /** The user, when the password is theirs. */
  async verify (username: string, password: string | Buffer): Promise<User | undefined> {
    const entry = this.#users.get(username)
    const ok = await verifyPassword(password, entry?.hash ?? this.#decoy).catch(() => false)
    return ok && entry ? { username, role: entry.role } : undefined
  }

  list (): User[] {
    return [...this.#users].map(([username, u]) => ({ username, role: u.role }))
  }
}

/**
 * Users from the FACTORY_USERS environment variable: a JSON array of
 * `{ username, role, password | passwordHash }`. Throws an error naming the
 * problem; undefined when the variable is not set.
 */
export function usersFromEnv (raw: string | undefined): UserSpec[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (err) {
    throw new Error(`FACTORY_USERS is not JSON (${(err as Error).message}); expected e.g. [{"username":"anna","role":"operator","password":"…"}]`, { cause: err })
  }
  const parsed = z.array(userSpecSchema).min(1).safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new Error(`FACTORY_USERS: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  return parsed.data
}
