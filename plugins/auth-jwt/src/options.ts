import { z } from 'zod'

/** HMAC algorithms: verified with the shared `secret`. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
/** Public-key algorithms: verified with `publicKey` or keys from `jwksUrl`. */
export const PUBLIC_KEY_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'
] as const
/** Every algorithm the plugin can be configured to accept. `none` is not one of them, on purpose. */
export const ALGORITHMS = [...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS] as const

export type HmacAlgorithm = typeof HMAC_ALGORITHMS[number]
export type PublicKeyAlgorithm = typeof PUBLIC_KEY_ALGORITHMS[number]
export type Algorithm = typeof ALGORITHMS[number]

export const isHmac = (alg: string): alg is HmacAlgorithm => (HMAC_ALGORITHMS as readonly string[]).includes(alg)

/**
 * Where a claim lives in the payload: a dotted path (`acl.pub`,
 * `realm_access.roles`) or, for claim names that contain dots (namespaced
 * claims such as `https://example.com/acl`), the list of keys.
 */
export const claimPathSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
export type ClaimPath = z.output<typeof claimPathSchema>

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])

/** Remote JWKS fetching and caching (jose's createRemoteJWKSet). */
export const jwksOptionsSchema = z.strictObject({
  /** After a fetch, a token with an unknown `kid` triggers a new fetch only after this long. */
  cooldownSeconds: z.number().min(0).max(86_400).default(30),
  /** Fetched keys are refetched when used after this long. */
  cacheMaxAgeSeconds: z.number().min(0).max(604_800).default(600),
  /** A fetch that takes longer fails; keep it below the broker's pluginTimeouts.linkMs (5 s). */
  timeoutMs: z.number().int().min(100).max(60_000).default(2000),
  /** While the endpoint is unreachable, cached keys keep verifying tokens for this long after the last good fetch (0: forever). */
  maxStaleSeconds: z.number().min(0).default(86_400),
  /** Allow an http:// JWKS URL on a non-loopback host (a network attacker could then inject keys). */
  allowHttp: z.boolean().default(false),
  /** Largest JWKS response accepted. */
  maxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024)
})

/** How bearer tokens are taken from a WebSocket upgrade request (when the MQTT password is empty). */
export const websocketOptionsSchema = z.strictObject({
  /** Read `Authorization: Bearer <token>`. */
  header: z.boolean().default(true),
  /** Read the token from this query parameter (off by default: URLs end up in proxy logs). */
  queryParam: z.string().min(1).optional(),
  /** Read the token from this cookie. */
  cookie: z.string().min(1).optional()
})

/** Where ACL grants live in the claims, and what happens without them. */
export const aclOptionsSchema = z.strictObject({
  /** Topic filters the client may publish to. */
  publishClaim: claimPathSchema.default('acl.pub'),
  /** Topic filters the client may subscribe to and read. */
  subscribeClaim: claimPathSchema.default('acl.sub'),
  /** A token with neither claim: `next` lets the next authorizer (or the broker default) decide; `deny` denies everything. */
  whenMissing: z.enum(['next', 'deny']).default('next'),
  /**
   * `intersect`: a wildcard subscription is granted when some topic it can
   * match is granted, and deliveries are filtered by the read check.
   * `covered`: only subscriptions every topic of which is granted.
   */
  wildcardSubscriptions: z.enum(['intersect', 'covered']).default('intersect')
})

export const jwtAuthOptionsSchema = z.strictObject({
  /** The accepted `alg` values; anything else (and `none`) is refused. */
  algorithms: z.array(z.enum(ALGORITHMS)).min(1),
  /** HMAC secret for HS*; decoded with `secretEncoding`. */
  secret: z.string().min(1).optional(),
  /** A file holding the HMAC secret (trailing newline ignored). */
  secretFile: z.string().min(1).optional(),
  secretEncoding: z.enum(['utf8', 'base64', 'base64url', 'hex']).default('utf8'),
  /** Public key for RS/PS/ES/EdDSA: a PEM (SPKI public key or X.509 certificate), a JWK, or a JWK Set (`{ keys: [...] }`). */
  publicKey: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
  /** A file holding the public key (PEM, or JSON for a JWK / JWK Set). */
  publicKeyFile: z.string().min(1).optional(),
  /** A JWKS endpoint (https, or http on a loopback host). */
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  jwks: jwksOptionsSchema.prefault({}),
  /** Required `iss` (one of). */
  issuer: oneOrMany.optional(),
  /** Required `aud` (one of). */
  audience: oneOrMany.optional(),
  /** Required `typ` header, e.g. `at+jwt`. */
  typ: z.string().min(1).optional(),
  /** Leeway for `exp`, `nbf` and `iat` checks, for clocks that drift. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(5),
  /** Refuse tokens issued (`iat`) longer ago than this. */
  maxTokenAgeSeconds: z.number().int().positive().optional(),
  /** Refuse tokens without `exp` (a token without one would never expire). */
  requireExp: z.boolean().default(true),
  /** Further claims that must be present. */
  requiredClaims: z.array(z.string().min(1)).default([]),
  /** Tokens longer than this are refused before any parsing. */
  maxTokenBytes: z.number().int().min(256).max(65_535).default(8192),
  /** The claim that becomes the client's username (and `%u`). */
  usernameClaim: claimPathSchema.default('sub'),
  /** When true, an MQTT username that differs from the token's is refused; when false it is ignored. */
  requireUsernameMatch: z.boolean().default(false),
  /** When set, the MQTT client id must equal this claim (binds `%c` to the token). */
  clientIdClaim: claimPathSchema.optional(),
  /** The claim holding roles: an array of strings or a space-separated string. */
  rolesClaim: claimPathSchema.default('roles'),
  acl: aclOptionsSchema.prefault({}),
  websocket: websocketOptionsSchema.prefault({}),
  /** A password that is not shaped like a JWT: `refuse` it, or pass it on (`next`) to a password authenticator. */
  nonJwtPassword: z.enum(['refuse', 'next']).default('refuse'),
  /** Disconnect a client when its token expires. */
  disconnectOnExpiry: z.boolean().default(true),
  /** Chain priority of the authenticator and the authorizer. */
  priority: z.number().int().default(0)
}).superRefine((o, ctx) => {
  const hmac = o.algorithms.some(isHmac)
  const asymmetric = o.algorithms.some(a => !isHmac(a))
  const hasSecret = o.secret !== undefined || o.secretFile !== undefined
  const hasPublicKey = o.publicKey !== undefined || o.publicKeyFile !== undefined
  const issue = (path: string, message: string): void => { ctx.addIssue({ code: 'custom', path: [path], message }) }
  if (o.secret !== undefined && o.secretFile !== undefined) issue('secretFile', 'give secret or secretFile, not both')
  if (o.publicKey !== undefined && o.publicKeyFile !== undefined) issue('publicKeyFile', 'give publicKey or publicKeyFile, not both')
  if (hasPublicKey && o.jwksUrl !== undefined) issue('jwksUrl', 'give publicKey or jwksUrl, not both')
  if (hmac && !hasSecret) issue('secret', `algorithms include ${o.algorithms.filter(isHmac).join(', ')}, which need a secret (or secretFile)`)
  if (!hmac && hasSecret) issue('secret', 'a secret is only used by HS256/HS384/HS512, and algorithms has none of them')
  if (asymmetric && !hasPublicKey && o.jwksUrl === undefined) {
    issue('publicKey', `algorithms include ${o.algorithms.filter(a => !isHmac(a)).join(', ')}, which need a publicKey (or publicKeyFile) or a jwksUrl`)
  }
  if (!asymmetric && (hasPublicKey || o.jwksUrl !== undefined)) {
    issue(hasPublicKey ? 'publicKey' : 'jwksUrl', 'public keys are only used by RS*/PS*/ES*/EdDSA, and algorithms has none of them')
  }
})

/** Options as given to the factory (defaults not yet applied). */
export type JwtAuthOptionsInput = z.input<typeof jwtAuthOptionsSchema>
/** Options after validation, with every default applied. */
export type JwtAuthOptions = z.output<typeof jwtAuthOptionsSchema>
