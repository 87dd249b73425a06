/**
 * Turns mqtt.js connection errors into sentences a person can act on, and
 * keeps a machine that retries every few seconds from flooding the log.
 */

const CONNACK_REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version — the broker does not speak MQTT 3.1.1',
  2: 'client identifier rejected — is another process connected with this machine id, or does the broker limit client ids?',
  3: 'server unavailable — the broker is up but not accepting connections yet',
  4: 'bad username or password — is MACHINE_SECRET the same on both sides?',
  5: 'not authorized — the broker does not accept this machine (check its authenticator and ACL)'
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there — is the broker running, and on this port?',
  ENOTFOUND: 'the host name does not resolve — check --broker / BROKER_URL',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS)',
  ETIMEDOUT: 'the connection timed out — a firewall, or the wrong host?',
  EHOSTUNREACH: 'the host is unreachable from here',
  ECONNRESET: 'the broker closed the connection abruptly'
}

/** A sentence explaining why a connection attempt failed. */
export function describeConnectionError (err: Error & { code?: unknown }): string {
  if (typeof err.code === 'number') {
    const known = CONNACK_REFUSALS[err.code]
    return `broker refused the connection: ${known ?? `CONNACK return code ${err.code}`}`
  }
  if (typeof err.code === 'string') {
    const known = SOCKET_ERRORS[err.code]
    return `cannot reach the broker (${err.code}): ${known ?? err.message}`
  }
  return `connection failed: ${err.message}`
}

/**
 * Decides which repeats of a failure get logged: the first, then every
 * `every`th, and always a new kind of failure.
 */
export class RepeatFilter {
  #last: string | undefined
  #count = 0

  constructor (private readonly every = 30) {}

  /** The number of consecutive identical failures including this one, or undefined to stay quiet. */
  admit (message: string): number | undefined {
    if (message !== this.#last) {
      this.#last = message
      this.#count = 1
      return 1
    }
    this.#count++
    return this.#count % this.every === 0 ? this.#count : undefined
  }

  reset (): void {
    this.#last = undefined
    this.#count = 0
  }
}
