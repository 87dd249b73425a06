import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import type { ConnackRefusal } from '@embedmq/core'
import { JwksUnavailableError } from './jwks.js'
import { KeyMismatchError, type KeyLookup, type VerificationKey } from './keys.js'
import { isoTime } from './claims.js'
import { isHmac, type JwtAuthOptions } from './options.js'

/** Why a token was refused, and the CONNACK code to refuse it with. */
export interface Refusal {
  code: ConnackRefusal
  reason: string
}

export type Verified = { ok: true, payload: JWTPayload, alg: string, kid?: string } | { ok: false, refusal: Refusal }

/** Attacker-controlled header values go into log lines quoted and cut short. */
const quote = (value: unknown): string => JSON.stringify(typeof value === 'string' ? value.slice(0, 64) : value ?? null)

const iso = isoTime

const bad = (reason: string): Verified => ({ ok: false, refusal: { code: 4, reason } })

/** Turns a jose (or key lookup) error into a refusal a person can act on. Never includes the token. */
function refusalFor (err: unknown, alg: string, kid: unknown): Refusal {
  if (err instanceof JwksUnavailableError) return { code: 3, reason: err.message }
  if (err instanceof KeyMismatchError) return { code: 4, reason: err.message }
  if (err instanceof errors.JWTExpired) return { code: 4, reason: `token expired at ${iso(err.payload.exp)}` }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const p = err.payload
    switch (err.claim) {
      case 'nbf': return { code: 4, reason: `token is not valid before ${iso(p.nbf)}` }
      case 'aud': return { code: 4, reason: `token audience ${quote(p.aud)} is not the configured audience` }
      case 'iss': return { code: 4, reason: `token issuer ${quote(p.iss)} is not the configured issuer` }
      case 'iat': return { code: 4, reason: err.reason === 'check_failed' ? `token was issued at ${iso(p.iat)}, longer ago than maxTokenAgeSeconds` : `token "iat" claim is ${err.reason === 'missing' ? 'missing (maxTokenAgeSeconds needs it)' : 'invalid'}` }
      case 'typ': return { code: 4, reason: 'token "typ" header is not the configured typ' }
      default: return { code: 4, reason: `token claim "${err.claim.slice(0, 64)}" is ${err.reason === 'missing' ? 'missing' : 'invalid'}${err.claim === 'exp' && err.reason === 'missing' ? ' (requireExp)' : ''}` }
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return { code: 4, reason: `signature verification failed (alg ${alg}${kid === undefined ? '' : `, kid ${quote(kid)}`})` }
  if (err instanceof errors.JOSEAlgNotAllowed) return { code: 4, reason: `algorithm ${quote(alg)} is not allowed` }
  if (err instanceof errors.JWKSNoMatchingKey) return { code: 4, reason: `no key in the JWKS matches kid ${quote(kid)} and alg ${alg}` }
  if (err instanceof errors.JWKSMultipleMatchingKeys) return { code: 4, reason: `several JWKS keys match kid ${quote(kid)} and none verified the signature` }
  if (err instanceof errors.JWKSInvalid) return { code: 3, reason: `the JWKS is invalid: ${err.message}` }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return { code: 4, reason: `malformed token: ${err.message}` }
  if (err instanceof errors.JOSENotSupported) return { code: 4, reason: `unsupported token: ${err.message}` }
  if (err instanceof TypeError) return { code: 4, reason: `the key cannot verify a ${alg} token: ${err.message}` }
  return { code: 4, reason: `token verification failed: ${(err as Error).message ?? String(err)}` }
}

/**
 * Verifies compact JWTs with jose against the configured keys: the `alg`
 * must be in the allow-list (so `none` never is), HS tokens only ever meet the
 * shared secret and public-key tokens only the public keys (no algorithm
 * confusion), and `exp`/`nbf`/`iat`/`aud`/`iss`/`typ` are checked as configured.
 */
export class JwtVerifier {
  readonly #allowed: ReadonlySet<string>
  readonly #options: JWTVerifyOptions

  constructor (
    private readonly o: JwtAuthOptions,
    private readonly secret: Uint8Array | undefined,
    private readonly publicKeys: KeyLookup | undefined
  ) {
    this.#allowed = new Set(o.algorithms)
    this.#options = {
      algorithms: [...o.algorithms],
      clockTolerance: o.clockToleranceSeconds,
      requiredClaims: [...new Set([...(o.requireExp ? ['exp'] : []), ...o.requiredClaims])],
      ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
      ...(o.audience === undefined ? {} : { audience: o.audience }),
      ...(o.typ === undefined ? {} : { typ: o.typ }),
      ...(o.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: o.maxTokenAgeSeconds })
    }
  }

  async verify (token: string): Promise<Verified> {
    let alg: unknown
    let kid: unknown
    try {
      ({ alg, kid } = decodeProtectedHeader(token))
    } catch (err) {
      return bad(`malformed token header: ${(err as Error).message}`)
    }
    // jose refuses these too; checking first gives a clearer reason and skips any key lookup.
    if (typeof alg !== 'string') return bad('token header has no "alg"')
    if (!this.#allowed.has(alg)) return bad(`algorithm ${quote(alg)} is not allowed (algorithms: ${this.o.algorithms.join(', ')})`)
    try {
      const { payload } = await jwtVerify(token, (header, jws) => this.#key(header.alg ?? '', header, jws), this.#options)
      return { ok: true, payload, alg, ...(typeof kid === 'string' ? { kid } : {}) }
    } catch (err) {
      return { ok: false, refusal: refusalFor(err, alg, kid) }
    }
  }

  /** HS tokens get the secret and nothing else; public-key tokens get public keys and never the secret. */
  #key (alg: string, header: Parameters<KeyLookup>[0], jws: Parameters<KeyLookup>[1]): Promise<VerificationKey> {
    if (isHmac(alg)) {
      return this.secret === undefined
        ? Promise.reject(new KeyMismatchError(`no secret is configured for ${alg}`))
        : Promise.resolve(this.secret)
    }
    return this.publicKeys === undefined
      ? Promise.reject(new KeyMismatchError(`no public key is configured for ${alg}`))
      : this.publicKeys(header, jws)
  }
}
