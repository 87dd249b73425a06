import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwksCache, type FetchImplementation, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose'
import type { Logger } from '@embedmq/core'
import { KeyConfigError, type KeyLookup, type VerificationKey } from './keys.js'
import type { z } from 'zod'
import type { jwksOptionsSchema } from './options.js'

export type JwksOptions = z.output<typeof jwksOptionsSchema>

/**
 * No key could be looked up because the JWKS endpoint is unreachable (or
 * answered garbage) and the cache cannot answer: a server-side problem, not
 * the client's token (CONNACK 3, server unavailable).
 */
export class JwksUnavailableError extends Error {
  override name = 'JwksUnavailableError'
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)

/** Reads a response body, refusing more than `max` bytes (a broken endpoint must not fill the heap). */
async function readCapped (res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > max) throw new Error(`response is ${declared} bytes, over jwks.maxBytes (${max})`)
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      throw new Error(`response is over jwks.maxBytes (${max})`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const describeError = (err: unknown): string => {
  const e = err as { name?: string, message?: string, cause?: { code?: string, message?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out'
  const cause = e.cause?.code ?? e.cause?.message
  return `${e.message ?? String(err)}${cause ? ` (${cause})` : ''}`
}

/**
 * Keys from a JWKS endpoint, through jose's createRemoteJWKSet (fetching,
 * timeout, cache age, refetch of an unknown `kid` at most once per cooldown,
 * one fetch at a time), with two things jose leaves to the caller:
 * - when the endpoint is down, keys fetched earlier keep verifying tokens
 *   (up to `maxStaleSeconds` after the last good fetch), while a token whose
 *   `kid` is not cached is refused: JwksUnavailableError;
 * - after a failed fetch, no login waits on the endpoint again for a cooldown:
 *   the cache answers meanwhile.
 * Outages and recoveries are logged once each, not per login.
 */
export class RemoteJwks {
  readonly #url: URL
  readonly #log: Logger
  readonly #options: JwksOptions
  /** Filled by jose after every good fetch: the last-known-good key set and when it came. */
  readonly #cache: { jwks?: JSONWebKeySet, uat?: number } = {}
  readonly #remote: ReturnType<typeof createRemoteJWKSet>
  #failures = 0
  #lastError = ''
  #downSince: number | undefined
  #retryAt = 0
  #kids = ''
  #local: { uat: number, lookup: ReturnType<typeof createLocalJWKSet> } | undefined

  constructor (url: string, options: JwksOptions, log: Logger) {
    this.#url = new URL(url)
    this.#options = options
    this.#log = log
    if (this.#url.protocol === 'http:' && !options.allowHttp && !isLoopback(this.#url.hostname)) {
      throw new KeyConfigError(`jwksUrl ${this.#url.href} is plain http on a non-loopback host: anyone on the path could substitute keys. Use https, or set jwks.allowHttp: true`)
    }
    const fetchJwks: FetchImplementation = (u, init) => this.#fetch(u, init)
    this.#remote = createRemoteJWKSet(this.#url, {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: options.cooldownSeconds * 1000,
      cacheMaxAge: options.cacheMaxAgeSeconds * 1000,
      [jwksCache]: this.#cache as Record<string, never>,
      [customFetch]: fetchJwks
    })
  }

  /** The URL keys come from. */
  get url (): string { return this.#url.href }

  /** Fetches the key set now (at start), so a misconfigured URL shows in the log before the first login. */
  async prefetch (): Promise<void> {
    await this.#remote.reload().catch(() => { /* logged by #fetch */ })
  }

  readonly lookup: KeyLookup = async (header, token) => {
    if (Date.now() < this.#retryAt) return this.#fromCache(header, token)
    const failuresBefore = this.#failures
    try {
      return await this.#remote(header, token)
    } catch (err) {
      // Not a failed fetch: a key problem (unknown kid while cooling down, unusable key), for the verifier to report.
      if (this.#failures === failuresBefore) throw err
      return this.#fromCache(header, token)
    }
  }

  async #fromCache (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<VerificationKey> {
    const { jwks, uat } = this.#cache
    const kid = JSON.stringify(header.kid ?? null).slice(0, 80)
    if (jwks === undefined || uat === undefined) {
      throw new JwksUnavailableError(`JWKS endpoint ${this.url} is unreachable (${this.#lastError}) and no keys were fetched yet`)
    }
    const maxStaleMs = this.#options.maxStaleSeconds * 1000
    if (maxStaleMs > 0 && Date.now() - uat > maxStaleMs) {
      throw new JwksUnavailableError(`JWKS endpoint ${this.url} is unreachable (${this.#lastError}) and the cached keys from ${new Date(uat).toISOString()} are older than jwks.maxStaleSeconds`)
    }
    if (this.#local?.uat !== uat) this.#local = { uat, lookup: createLocalJWKSet(jwks) }
    try {
      return await this.#local.lookup(header, token)
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) {
        throw new JwksUnavailableError(`no cached key has kid ${kid}, and the JWKS endpoint ${this.url} that might have it is unreachable (${this.#lastError})`)
      }
      throw err
    }
  }

  /** jose's fetch, observed: every failure and success is counted and logged here. */
  async #fetch (url: string, init: Parameters<FetchImplementation>[1]): Promise<Response> {
    try {
      const res = await fetch(url, init)
      if (res.status !== 200) {
        await res.body?.cancel()
        throw new Error(`HTTP ${res.status} (expected 200${res.status >= 300 && res.status < 400 ? '; redirects are not followed' : ''})`)
      }
      const body = await readCapped(res, this.#options.maxBytes)
      const parsed: unknown = JSON.parse(body)
      const keys = (parsed as { keys?: unknown } | null)?.keys
      if (!Array.isArray(keys)) throw new Error('the response is not a JWK Set (no "keys" array)')
      this.#succeeded(keys)
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
    } catch (err) {
      this.#failed(err)
      throw err
    }
  }

  #succeeded (keys: unknown[]): void {
    this.#retryAt = 0
    const kids = keys.map(k => String((k as { kid?: unknown } | null)?.kid ?? '(no kid)')).sort().join(', ')
    if (this.#downSince !== undefined) {
      this.#log.info({ jwksUrl: this.url, downSince: new Date(this.#downSince).toISOString() }, `JWKS endpoint ${this.url} answers again`)
      this.#downSince = undefined
    }
    if (kids !== this.#kids) {
      this.#log.info({ jwksUrl: this.url, keys: keys.length }, `fetched ${keys.length} key(s) from ${this.url}: ${kids.slice(0, 500)}`)
      this.#kids = kids
    }
  }

  #failed (err: unknown): void {
    this.#failures++
    this.#lastError = describeError(err)
    this.#retryAt = Date.now() + Math.max(this.#options.cooldownSeconds * 1000, 1000)
    if (this.#downSince !== undefined) {
      this.#log.debug({ jwksUrl: this.url, err: this.#lastError }, 'JWKS endpoint still unreachable')
      return
    }
    this.#downSince = Date.now()
    const cached = this.#cache.uat === undefined
      ? 'no keys are cached, so every public-key token is refused (CONNACK 3)'
      : `tokens signed with the keys cached at ${new Date(this.#cache.uat).toISOString()} are still accepted; other key ids are refused (CONNACK 3)`
    this.#log.warn({ jwksUrl: this.url, err: this.#lastError }, `JWKS endpoint ${this.url} is unreachable (${this.#lastError}): ${cached} until it answers`)
  }
}
