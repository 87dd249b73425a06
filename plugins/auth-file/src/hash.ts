import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes: scrypt (node:crypto) in a self-describing string,
 *
 *   $scrypt$N=16384,r=8,p=1$<salt, base64>$<derived key, base64>
 *
 * so the cost can be raised later without invalidating existing entries.
 * scrypt is memory-hard: the cost floor below keeps a stolen file expensive
 * to attack, the ceiling keeps one login from taking the broker's memory.
 */

/** scrypt's cost parameters: CPU/memory cost N (a power of two), block size r, parallelism p. */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** A hash string taken apart. */
export interface ParsedHash {
  params: ScryptParams
  salt: Buffer
  hash: Buffer
}

/** What `hashPassword` uses: 16 MiB and some tens of milliseconds per hash. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1 })

const SALT_BYTES = 16
const KEY_BYTES = 32
/** 128·N·r bytes of memory per hash: at least the defaults' 16 MiB, at most 256 MiB. */
const MIN_MEMORY = 128 * 16384 * 8
const MAX_MEMORY = 256 * 1024 * 1024
const MAX_P = 16

/** A hash string that is not one this plugin accepts; `reason` says why, without echoing the string. */
export class HashFormatError extends Error {
  constructor (readonly reason: string) {
    super(reason)
    this.name = 'HashFormatError'
  }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function decodeBase64 (text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw new HashFormatError(`the ${what} is not base64`)
  const bytes = Buffer.from(text, 'base64')
  // Buffer.from skips what it cannot decode; a round trip catches truncated or padded garbage.
  if (bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) throw new HashFormatError(`the ${what} is not base64`)
  return bytes
}

/** Why these scrypt parameters are refused, or undefined when they are acceptable. */
export function scryptParamsProblem ({ N, r, p }: ScryptParams): string | undefined {
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) return `scrypt parameter N must be a power of two, got ${N}`
  if (!Number.isSafeInteger(r) || r < 1) return `scrypt parameter r must be a positive integer, got ${r}`
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) return `scrypt parameter p must be from 1 to ${MAX_P}, got ${p}`
  const memory = 128 * N * r
  if (memory < MIN_MEMORY) return `scrypt parameters N=${N},r=${r} are too weak (${memory / 1024} KiB); at least N=16384,r=8 is required`
  if (memory > MAX_MEMORY) return `scrypt parameters N=${N},r=${r} need ${Math.round(memory / 1024 / 1024)} MiB per login; at most 256 MiB is allowed`
  return undefined
}

const FOREIGN_FORMATS: Readonly<Record<string, string>> = {
  7: 'Mosquitto PBKDF2-SHA512',
  6: 'SHA-512 (a fast hash)',
  5: 'SHA-256 (a fast hash)',
  1: 'MD5 (a fast hash)',
  '2a': 'bcrypt',
  '2b': 'bcrypt',
  '2y': 'bcrypt',
  argon2id: 'argon2id',
  argon2i: 'argon2i',
  pbkdf2: 'PBKDF2'
}

/**
 * Names a foreign format by its prefix, so the error says what the file holds
 * without repeating it: only known prefixes are echoed (an unknown one might
 * be the start of a plain-text password).
 */
function foreignFormat (encoded: string): string {
  if (!encoded.startsWith('$')) return 'it is not a $scrypt$ hash (plain-text passwords are not accepted)'
  const id = /^\$([A-Za-z0-9-]{1,16})\$/.exec(encoded)?.[1]
  const name = id === undefined ? undefined : FOREIGN_FORMATS[id]
  return `unknown hash format${id === undefined || name === undefined ? '' : ` "$${id}$" (${name})`}; ` +
    'only $scrypt$N=…,r=…,p=…$salt$hash hashes (made by embedmq passwd or hashPassword()) are accepted'
}

/** Parses a hash string; throws HashFormatError saying what is wrong. */
export function parseHash (encoded: string): ParsedHash {
  if (!encoded.startsWith('$scrypt$')) throw new HashFormatError(foreignFormat(encoded))
  const parts = encoded.split('$')
  if (parts.length !== 5) throw new HashFormatError('a $scrypt$ hash has four $-separated fields: $scrypt$N=…,r=…,p=…$salt$hash')
  const params = /^N=(\d{1,10}),r=(\d{1,5}),p=(\d{1,5})$/.exec(parts[2] ?? '')
  if (!params) throw new HashFormatError(`the scrypt parameters must read N=<n>,r=<r>,p=<p>, got "${(parts[2] ?? '').slice(0, 40)}"`)
  const parsed: ScryptParams = { N: Number(params[1]), r: Number(params[2]), p: Number(params[3]) }
  const problem = scryptParamsProblem(parsed)
  if (problem) throw new HashFormatError(problem)
  const salt = decodeBase64(parts[3] ?? '', 'salt')
  const hash = decodeBase64(parts[4] ?? '', 'hash')
  if (salt.length < 8 || salt.length > 64) throw new HashFormatError(`the salt must be 8 to 64 bytes, got ${salt.length}`)
  if (hash.length < 16 || hash.length > 64) throw new HashFormatError(`the hash must be 16 to 64 bytes, got ${hash.length}`)
  return { params: parsed, salt, hash }
}

/** The string form of a parsed hash (base64 without padding). */
export function formatHash ({ params, salt, hash }: ParsedHash): string {
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '')
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`
}

function derive (password: string | Buffer, salt: Buffer, length: number, { N, r, p }: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: node refuses 128·N·r above it; twice that leaves room for its bookkeeping.
    scrypt(password, salt, length, { N, r, p, maxmem: 2 * 128 * N * r + 1024 * 1024 }, (err, key) => {
      if (err) reject(err)
      else resolve(key)
    })
  })
}

/**
 * Hashes a password with a fresh random salt. Strings are hashed as UTF-8;
 * pass a Buffer for passwords that are raw bytes (MQTT passwords are binary).
 * Runs scrypt on libuv's thread pool, never blocking the event loop.
 */
export async function hashPassword (password: string | Buffer, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const problem = scryptParamsProblem(params)
  if (problem) throw new HashFormatError(problem)
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(password, salt, KEY_BYTES, params)
  return formatHash({ params: { ...params }, salt, hash })
}

/**
 * Whether `password` matches a hash (a string, or one parseHash already took
 * apart). Asynchronous scrypt, then a constant-time comparison. Throws
 * HashFormatError for a string that is not a valid hash.
 */
export async function verifyPassword (password: string | Buffer, encoded: string | ParsedHash): Promise<boolean> {
  const parsed = typeof encoded === 'string' ? parseHash(encoded) : encoded
  const derived = await derive(password, parsed.salt, parsed.hash.length, parsed.params)
  return timingSafeEqual(derived, parsed.hash)
}
