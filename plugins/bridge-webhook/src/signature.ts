import { createHmac, timingSafeEqual } from 'node:crypto'

/** The request header carrying the signature. */
export const SIGNATURE_HEADER = 'X-Embedmq-Signature'

/**
 * The signature header value for a body: `t=<unix seconds>,v1=<hex>`, where
 * v1 is HMAC-SHA256(secret, `${t}.${body}`) over the exact body bytes, as
 * Stripe signs webhooks. The timestamp lets receivers refuse replays.
 */
export function signBody (body: string | Buffer, secret: string, unixSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${unixSeconds},v1=${hmac(secret, unixSeconds, body)}`
}

function hmac (secret: string, t: number | string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex')
}

/**
 * Why a signature header does not authenticate a body, or undefined when it
 * does: the header is missing or malformed, its timestamp is further than
 * `toleranceSeconds` from now (a replay, or a skewed clock), or no v1
 * signature matches. Several v1 entries are accepted (for secret rotation).
 * `body` must be the raw request body, before any JSON parsing.
 */
export function signatureProblem (body: string | Buffer, header: string | null | undefined, secret: string,
  toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)): string | undefined {
  if (header === undefined || header === null || header === '') return `no ${SIGNATURE_HEADER} header`
  let t: string | undefined
  const candidates: string[] = []
  for (const part of header.split(',')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (key === 't') t = value
    else if (key === 'v1') candidates.push(value)
  }
  if (t === undefined || !/^\d{1,12}$/.test(t)) return 'the signature header has no valid timestamp (t=)'
  if (candidates.length === 0) return 'the signature header has no v1 signature'
  if (Math.abs(nowSeconds - Number(t)) > toleranceSeconds) {
    return `the signature timestamp is ${nowSeconds - Number(t)} s from now, beyond the tolerance of ${toleranceSeconds} s`
  }
  const expected = Buffer.from(hmac(secret, t, body), 'hex')
  const matches = candidates.some(c => {
    if (!/^[0-9a-f]{64}$/i.test(c)) return false
    return timingSafeEqual(Buffer.from(c, 'hex'), expected)
  })
  return matches ? undefined : 'no v1 signature matches the body and secret'
}

/**
 * Whether `header` (the X-Embedmq-Signature value) authenticates `body` (the
 * raw bytes received) under `secret`, within `toleranceSeconds` (default 300).
 */
export function verifySignature (body: string | Buffer, header: string | null | undefined, secret: string, toleranceSeconds = 300): boolean {
  return signatureProblem(body, header, secret, toleranceSeconds) === undefined
}
