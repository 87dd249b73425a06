import { z } from 'zod'
import { isLoopbackUrl } from './loopback.js'

/**
 * The plugin's options. Every key is documented in the README; objects are
 * strict so a misspelt key fails start naming it instead of being ignored.
 */

const DAY_MS = 86_400_000

/** An http(s) URL without credentials in it (fetch refuses those, and they would end up in logs). */
const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL (expected e.g. https://auth.example.com/mqtt/auth)` })
    return
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must be an http:// or https:// URL, not ${url.protocol}//` })
  }
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not contain credentials (user:password@host); send a shared secret with `headers` instead' })
  }
})

/** Extra request headers; checked with the same rules fetch applies, so a bad one fails start, not the first login. */
const headers = z.record(z.string(), z.string()).superRefine((value, ctx) => {
  for (const [name, content] of Object.entries(value)) {
    try {
      new Headers([[name, content]])
    } catch {
      ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a valid HTTP header name, or its value has characters headers cannot carry (CR, LF, NUL)` })
    }
  }
})

const endpointObject = z.strictObject({
  /** Where to send the request. */
  url: httpUrl,
  /** POST (default) or PUT; the request is always a JSON body, never a query string (it carries passwords). */
  method: z.enum(['POST', 'PUT']).default('POST'),
  /** Headers for this endpoint only, merged over the top-level `headers`. */
  headers: headers.default({})
})

/** An endpoint, given as a URL or as `{ url, method, headers }`. */
const endpoint = z.preprocess((value) => (typeof value === 'string' ? { url: value } : value), endpointObject)

const ttl = (min: number, fallback: number): z.ZodDefault<z.ZodNumber> => z.number().int().min(min).max(DAY_MS).default(fallback)

const authenticateCache = z.strictObject({
  /** How long an allow is reused for an identical login (same client id, username, password, address…). 0 = never. */
  allowTtlMs: ttl(0, 30_000),
  /** How long a deny or ignore is reused. 0 = never. */
  denyTtlMs: ttl(0, 5_000),
  /** Entries kept at most (least recently used go first). */
  maxEntries: z.number().int().min(1).max(10_000_000).default(10_000)
})

/**
 * Authorization decisions need a cache: reads must be answered synchronously
 * from it, and the broker's own per-client cache is refreshed on these TTLs.
 * A floor of 1 s keeps a deny from turning every delivery into a request.
 */
const authorizeCache = z.strictObject({
  allowTtlMs: ttl(1000, 60_000),
  denyTtlMs: ttl(1000, 30_000),
  maxEntries: z.number().int().min(1).max(10_000_000).default(100_000)
})

const schema = z.strictObject({
  /** Plugin name in logs and errors; set it to run two instances side by side. */
  name: z.string().min(1).default('auth-http'),
  /** The login endpoint; leave out to authenticate with another plugin. */
  authenticate: endpoint.optional(),
  /** The ACL endpoint; leave out to authorize with another plugin. */
  authorize: endpoint.optional(),
  /** Headers sent to both endpoints (e.g. a shared secret). */
  headers: headers.default({}),
  /** Per-request timeout, including waiting for a free request slot and reading the body. */
  timeoutMs: z.number().int().min(50).max(60_000).default(2000),
  /** What a 5xx, 408, 429, network error or timeout means: deny (fail closed) or next (let the next link or the default decide). */
  onError: z.enum(['deny', 'next']).default('deny'),
  /** Allow sending secrets to a plain http:// URL that is not loopback. */
  allowInsecure: z.boolean().default(false),
  /** Response bodies above this are not read further; the answer counts as malformed (deny). */
  maxResponseBytes: z.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
  /** Requests in flight at once across both endpoints; more wait (within timeoutMs) for a slot. */
  maxConcurrentRequests: z.number().int().min(1).max(10_000).default(64),
  cache: z.strictObject({
    authenticate: authenticateCache.prefault({}),
    authorize: authorizeCache.prefault({})
  }).prefault({}),
  /** After a failed or malformed authorization answer, how long until the broker asks again. */
  retryAfterErrorMs: z.number().int().min(1000).max(DAY_MS).default(5000),
  /** On a wildcard subscription, fetch read decisions for up to this many retained topics before the SUBACK. 0 = off. */
  warmRetained: z.number().int().min(0).max(10_000).default(100),
  /** A failing endpoint is logged at most once per this interval (with a count of what was not logged). */
  logIntervalMs: z.number().int().min(0).max(DAY_MS).default(30_000),
  /** Chain priority of the authenticator and authorizer (higher runs first). */
  priority: z.number().int().default(0)
}).superRefine((options, ctx) => {
  if (options.authenticate === undefined && options.authorize === undefined) {
    ctx.addIssue({ code: 'custom', message: 'set `authenticate` and/or `authorize` to an endpoint URL; with neither the plugin does nothing' })
  }
  if (options.allowInsecure) return
  const check = (which: 'authenticate' | 'authorize', carries: string): void => {
    const e = options[which]
    // An unparsable URL has its own issue already (zod runs this refinement after non-fatal issues too).
    if (e === undefined || !URL.canParse(e.url)) return
    const url = new URL(e.url)
    if (url.protocol === 'http:' && !isLoopbackUrl(url)) {
      ctx.addIssue({
        code: 'custom',
        path: [which, 'url'],
        message: `${url.origin} is plain http:// and not loopback: ${carries} would cross the network in clear text. Use https://, or set allowInsecure: true if the network is trusted`
      })
    }
  }
  check('authenticate', 'client passwords')
  const secrets = Object.keys(options.headers).length + Object.keys(options.authorize?.headers ?? {}).length
  if (secrets > 0) check('authorize', 'the configured headers (usually a shared secret)')
})

/** The zod schema the broker validates options with. */
export const authHttpOptionsSchema = schema

/** An endpoint as given: its URL, or `{ url, method?, headers? }`. */
export type EndpointInput = string | z.input<typeof endpointObject>

/**
 * Options as given (defaults not applied yet). The endpoints are typed by
 * hand: zod types a preprocessed field's input as unknown.
 */
export type AuthHttpOptionsInput = Omit<z.input<typeof schema>, 'authenticate' | 'authorize'> & {
  authenticate?: EndpointInput
  authorize?: EndpointInput
}
/** Options after validation, defaults applied. */
export type AuthHttpOptions = z.output<typeof schema>
/** One endpoint after validation. */
export type EndpointOptions = z.output<typeof endpointObject>
