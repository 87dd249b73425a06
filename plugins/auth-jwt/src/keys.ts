import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createLocalJWKSet, type CryptoKey, type JSONWebKeySet, type JWK, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose'
import { isHmac, type JwtAuthOptions, type PublicKeyAlgorithm } from './options.js'

/** A key for one token, chosen from its protected header. */
export type VerificationKey = KeyObject | CryptoKey | Uint8Array
export type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<VerificationKey>

/** A configuration problem with the keys: fails the plugin's start with this message. */
export class KeyConfigError extends Error {
  override name = 'KeyConfigError'
}

/** The token's `alg` is allowed but the configured key cannot verify it (e.g. ES256 with an RSA key). */
export class KeyMismatchError extends Error {
  override name = 'KeyMismatchError'
}

/** RFC 7518 §3.2: an HMAC key at least as long as the hash. */
const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 }

const EC_CURVES: Record<string, PublicKeyAlgorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }

/** The algorithms a public key can verify. */
export function algorithmsForKey (key: KeyObject): PublicKeyAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'rsa-pss': return ['PS256', 'PS384', 'PS512']
    case 'ec': {
      const alg = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']
      return alg === undefined ? [] : [alg]
    }
    case 'ed25519': return ['EdDSA', 'Ed25519']
    default: return []
  }
}

/** `RSA 2048-bit`, `EC prime256v1`, `Ed25519`: for messages. */
function describeKey (key: KeyObject): string {
  const d = key.asymmetricKeyDetails
  const type = key.asymmetricKeyType ?? 'unknown'
  const name = type === 'rsa' || type === 'rsa-pss' || type === 'ec' ? type.toUpperCase() : type.replace(/^ed/, 'Ed')
  return `${name}${d?.namedCurve ? ` ${d.namedCurve}` : ''}${d?.modulusLength ? ` ${d.modulusLength}-bit` : ''}`
}

/** Decodes the HMAC secret and checks its length against every allowed HS algorithm. */
export async function loadSecret (o: JwtAuthOptions): Promise<Uint8Array | undefined> {
  let text = o.secret
  if (o.secretFile !== undefined) {
    text = await readKeyFile(o.secretFile, 'secretFile')
    text = text.replace(/\r?\n$/, '')
  }
  if (text === undefined) return undefined
  const bytes = new Uint8Array(Buffer.from(text, o.secretEncoding))
  if (bytes.length === 0) throw new KeyConfigError(`secret is empty after ${o.secretEncoding} decoding`)
  for (const alg of o.algorithms.filter(isHmac)) {
    const min = HMAC_MIN_BYTES[alg] ?? 32
    if (bytes.length < min) {
      throw new KeyConfigError(`secret is ${bytes.length} bytes; ${alg} needs at least ${min} (RFC 7518 §3.2). Generate one with: openssl rand -base64 ${min}, and set secretEncoding: base64`)
    }
  }
  return bytes
}

async function readKeyFile (path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new KeyConfigError(`cannot read ${option} ${path}: ${(err as Error).message}`)
  }
}

function isJwkSet (value: Record<string, unknown>): value is JSONWebKeySet & Record<string, unknown> {
  return Array.isArray(value.keys)
}

function refusePrivate (jwk: Record<string, unknown>, where: string): void {
  if ('d' in jwk || jwk.kty === 'oct') {
    throw new KeyConfigError(`${where} holds a private or symmetric key; give the broker only the public key`)
  }
}

/** A single public key: PEM (SPKI, PKCS#1 RSA or X.509 certificate) or JWK. */
function publicKeyObject (material: string | Record<string, unknown>, where: string): KeyObject {
  if (typeof material === 'string' && /PRIVATE KEY-----/.test(material)) {
    throw new KeyConfigError(`${where} is a private key; give the broker only the public key (openssl pkey -in key.pem -pubout)`)
  }
  if (typeof material !== 'string') refusePrivate(material, where)
  try {
    return typeof material === 'string'
      ? createPublicKey(material)
      : createPublicKey({ key: material as JsonWebKey, format: 'jwk' })
  } catch (err) {
    throw new KeyConfigError(`${where} is not a usable public key (PEM or JWK): ${(err as Error).message}`)
  }
}

/** Parses `publicKey`/`publicKeyFile` text: JSON for a JWK or JWK Set, PEM otherwise. */
function parseMaterial (text: string, where: string): string | Record<string, unknown> {
  const trimmed = text.trim()
  if (!trimmed.startsWith('{')) return trimmed
  try {
    const parsed: unknown = JSON.parse(trimmed)
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch (err) {
    throw new KeyConfigError(`${where} looks like JSON but does not parse: ${(err as Error).message}`)
  }
  throw new KeyConfigError(`${where} must be a PEM, a JWK object or a JWK Set`)
}

/**
 * The lookup for public-key tokens from a static key: one key (which must fit
 * at least one allowed algorithm, so a typo fails start, not every login) or
 * a local JWK Set.
 */
export async function loadStaticPublicKey (o: JwtAuthOptions): Promise<KeyLookup | undefined> {
  const where = o.publicKeyFile !== undefined ? `publicKeyFile ${o.publicKeyFile}` : 'publicKey'
  const raw = o.publicKeyFile !== undefined ? await readKeyFile(o.publicKeyFile, 'publicKeyFile') : o.publicKey
  if (raw === undefined) return undefined
  const material = typeof raw === 'string' ? parseMaterial(raw, where) : raw
  if (typeof material !== 'string' && isJwkSet(material)) {
    for (const jwk of material.keys) refusePrivate(jwk as Record<string, unknown>, `${where} (kid ${JSON.stringify((jwk as JWK).kid ?? null)})`)
    let set: ReturnType<typeof createLocalJWKSet>
    try {
      set = createLocalJWKSet(material)
    } catch (err) {
      throw new KeyConfigError(`${where} is not a valid JWK Set: ${(err as Error).message}`)
    }
    return (header, token) => set(header, token)
  }
  const key = publicKeyObject(material, where)
  const fits = algorithmsForKey(key)
  const allowed = o.algorithms.filter((a): a is PublicKeyAlgorithm => !isHmac(a))
  const usable = allowed.filter(a => fits.includes(a))
  if (usable.length === 0) {
    throw new KeyConfigError(`${where} (${describeKey(key)} key) verifies ${fits.join(', ') || 'none of the supported algorithms'}, but algorithms allows only ${allowed.join(', ')}`)
  }
  if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new KeyConfigError(`${where} (${describeKey(key)} key) is too short: RSA keys must be 2048 bits or more`)
  }
  return (header) => {
    const alg = header.alg ?? ''
    if (!(usable as readonly string[]).includes(alg)) {
      return Promise.reject(new KeyMismatchError(`token algorithm ${alg} does not fit the configured ${describeKey(key)} public key (it verifies ${usable.join(', ')})`))
    }
    return Promise.resolve(key)
  }
}
