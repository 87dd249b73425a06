import type { Logger } from '@embedmq/core'
import type { Endpoint, HttpExchange } from './http-exchange.js'
import type { RateLimitedLog } from './rate-limited-log.js'
import type { Decision } from './reply.js'
import { TtlCache, type Cached } from './ttl-cache.js'

/** What asking the service (or its cache) came to. */
export type Outcome =
  | { kind: 'decision', decision: Decision, expiresAt: number }
  | { kind: 'malformed', reason: string }
  | { kind: 'failure', reason: string, stopping?: boolean }

export interface DecisionStoreOptions {
  /** 'authenticate' or 'authorize': names the endpoint in logs. */
  name: string
  endpoint: Endpoint
  allowTtlMs: number
  denyTtlMs: number
  maxEntries: number
  /** Keep entries one more TTL after expiry, returned stale by `peek` (for reads that refresh in the background). */
  staleGrace: boolean
  onError: 'deny' | 'next'
}

/** The endpoint's URL without its query string (which may carry a token), for logs. */
const shownUrl = (url: string): string => {
  const u = new URL(url)
  return `${u.origin}${u.pathname}`
}

/**
 * One endpoint's decisions: a TTL cache keyed by the full request, and one
 * in-flight request per key (concurrent identical checks share it). Allows and
 * denies are cached with their own TTLs ('ignore' with the deny TTL);
 * failures and malformed answers are never cached. Failures are logged at
 * most once per interval; the first answer after failures is logged as a
 * recovery.
 */
export class DecisionStore {
  readonly #cache: TtlCache<Decision>
  readonly #inFlight = new Map<string, Promise<Outcome>>()
  readonly #url: string
  #failures = 0
  /** Bumped by clear(): answers to requests sent before it are passed on but not cached. */
  #generation = 0

  constructor (
    private readonly options: DecisionStoreOptions,
    private readonly exchange: HttpExchange,
    private readonly log: Logger,
    private readonly limited: RateLimitedLog,
    private readonly now: () => number = Date.now
  ) {
    this.#cache = new TtlCache(options.maxEntries, now)
    this.#url = shownUrl(options.endpoint.url)
  }

  /** Whether the last exchange failed (and none has succeeded since). */
  get failing (): boolean {
    return this.#failures > 0
  }

  /** A cached decision still within its TTL. */
  fresh (key: string): Cached<Decision> | undefined {
    const hit = this.#cache.get(key)
    return hit?.fresh === true ? hit : undefined
  }

  /** A cached decision, fresh or (with staleGrace) stale. */
  peek (key: string): Cached<Decision> | undefined {
    return this.#cache.get(key)
  }

  isFetching (key: string): boolean {
    return this.#inFlight.has(key)
  }

  forget (key: string): void {
    this.#cache.delete(key)
  }

  /** Forgets every decision; requests in flight still answer their callers, but are neither cached nor joined. */
  clear (): void {
    this.#cache.clear()
    this.#inFlight.clear()
    this.#generation++
  }

  /**
   * Asks the service (joining a request already in flight for the same key)
   * and caches the decision. Never rejects. `context` is logged with failures
   * (client id, topic…); it must not hold secrets.
   */
  fetch (key: string, body: unknown, context: Record<string, unknown>): Promise<Outcome> {
    const pending = this.#inFlight.get(key)
    if (pending !== undefined) return pending
    const generation = this.#generation
    const request: Promise<Outcome> = this.exchange.send(this.options.endpoint, body)
      .then((reply): Outcome => {
        if (reply.kind === 'decision') return this.#decided(key, reply.decision, generation === this.#generation)
        if (reply.kind === 'malformed') this.#malformed(reply.reason, context)
        else if (reply.stopping !== true) this.#failed(reply.reason, context)
        return reply
      }, (err: unknown): Outcome => {
        // exchange.send does not reject; this keeps the promise contract if it ever does.
        const reason = `unexpected error: ${(err as Error).message}`
        this.#failed(reason, context)
        return { kind: 'failure', reason }
      })
      .finally(() => {
        if (this.#inFlight.get(key) === request) this.#inFlight.delete(key)
      })
    this.#inFlight.set(key, request)
    return request
  }

  #decided (key: string, decision: Decision, cache: boolean): Outcome {
    if (this.#failures > 0) {
      this.log.info({ endpoint: this.#url, failures: this.#failures }, `${this.options.name} endpoint ${this.#url} answers again after ${this.#failures} failed request(s)`)
      this.#failures = 0
      this.limited.reset(`${this.options.name}:failure`)
    }
    const ttl = decision.result === 'allow' ? this.options.allowTtlMs : this.options.denyTtlMs
    if (cache) this.#cache.set(key, decision, ttl, this.options.staleGrace ? ttl : 0)
    return { kind: 'decision', decision, expiresAt: this.now() + ttl }
  }

  #failed (reason: string, context: Record<string, unknown>): void {
    this.#failures++
    const outcome = this.options.onError === 'deny' ? 'denying (onError: deny, fail closed)' : 'passing to the next link (onError: next)'
    this.limited.error(`${this.options.name}:failure`, { endpoint: this.#url, reason, ...context },
      `${this.options.name} endpoint ${this.#url} failed: ${reason}; ${outcome}. Check that the service is up and answers within timeoutMs.`)
  }

  #malformed (reason: string, context: Record<string, unknown>): void {
    this.limited.error(`${this.options.name}:malformed`, { endpoint: this.#url, reason, ...context },
      `${this.options.name} endpoint ${this.#url} answered malformed: ${reason}; denying. The service must answer HTTP 200 with {"result":"allow"|"deny"|"ignore"} (see the @embedmq/auth-http README).`)
  }
}
