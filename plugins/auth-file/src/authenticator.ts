import { authenticated, next, refuse, type AuthenticationResult, type Authenticator, type ConnectInput, type Logger } from '@embedmq/core'
import { verifyPassword } from './hash.js'
import type { PasswordTable } from './password-file.js'

/** What an authenticator needs of the password file: its current users (swapped on reload). */
export interface PasswordSource {
  readonly value: PasswordTable
}

/**
 * Checks CONNECT credentials against the password file:
 * - no username: next (the file cannot say anything about it);
 * - a username not in the file: next, or CONNACK 5 with `unknownUser: 'deny'`;
 * - a missing or wrong password: CONNACK 4;
 * - the right one: authenticated, with the username as identity.
 * scrypt runs asynchronously on the thread pool; the comparison is constant-time.
 * At most `maxPendingLogins` checks run at once; more are refused with CONNACK 3.
 */
export class PasswordAuthenticator implements Authenticator {
  #pending = 0
  #shed = 0

  constructor (
    private readonly passwords: PasswordSource,
    private readonly options: { unknownUser: 'next' | 'deny', maxPendingLogins: number },
    private readonly logger: Logger
  ) {}

  async authenticate (input: ConnectInput): Promise<AuthenticationResult> {
    const { username, password } = input
    if (username === undefined) return next()
    // Looked up once: a reload during the scrypt below does not change what this login is checked against.
    const entry = this.passwords.value.get(username)
    if (!entry) return this.options.unknownUser === 'deny' ? refuse(5, 'unknown user') : next()
    if (password === undefined || password.length === 0) return refuse(4, `no password given for user "${username}"`)
    if (this.#pending >= this.options.maxPendingLogins) return this.#shedLoad()
    this.#pending++
    try {
      return await verifyPassword(password, entry.hash)
        ? authenticated({ username })
        : refuse(4, `wrong password for user "${username}"`)
    } catch (err) {
      this.logger.error({ username, err: (err as Error).message }, `could not verify the password of user "${username}": ${(err as Error).message}`)
      return refuse(3, 'password verification failed on the server')
    } finally {
      this.#pending--
    }
  }

  /**
   * scrypt work cannot be cancelled once queued on the thread pool; refusing
   * beyond the bound keeps a login flood from queueing minutes of it.
   */
  #shedLoad (): AuthenticationResult {
    this.#shed++
    if (this.#shed % 1000 === 1) {
      this.logger.warn({ pending: this.#pending, refused: this.#shed },
        `${this.#pending} password checks already in progress (maxPendingLogins); refusing new logins with CONNACK 3 until they finish (${this.#shed} so far)`)
    }
    return refuse(3, `too many password checks in progress (maxPendingLogins ${this.options.maxPendingLogins})`)
  }
}
