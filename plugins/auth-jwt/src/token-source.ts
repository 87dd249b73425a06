import type { IncomingMessage } from 'node:http'
import type { ConnectInput } from '@embedmq/core'
import type { z } from 'zod'
import type { websocketOptionsSchema } from './options.js'

export type WebsocketOptions = z.output<typeof websocketOptionsSchema>

/** Where a token came from, for log lines. */
export type TokenOrigin = 'password' | 'authorization header' | 'query parameter' | 'cookie'

/** What the connection presented: a token, nothing, or something refused before any parsing. */
export type Presented =
  | { kind: 'token', token: string, origin: TokenOrigin }
  | { kind: 'none' }
  | { kind: 'not-a-jwt', origin: TokenOrigin, why: string }
  | { kind: 'too-large', origin: TokenOrigin, bytes: number }
  | { kind: 'not-utf8', origin: TokenOrigin }

/** A compact JWS: three base64url parts, the last (signature) possibly empty as in `alg: none`. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Checks a presented string before any parsing: size first, then shape. */
function candidate (token: string, origin: TokenOrigin, maxBytes: number): Presented {
  const bytes = Buffer.byteLength(token)
  if (bytes > maxBytes) return { kind: 'too-large', origin, bytes }
  if (!COMPACT_JWS.test(token)) {
    const parts = token.split('.').length
    return { kind: 'not-a-jwt', origin, why: parts === 5 ? 'an encrypted token (JWE), which is not supported' : 'not a compact JWS (three base64url parts separated by dots)' }
  }
  return { kind: 'token', token, origin }
}

function bearer (request: IncomingMessage): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}

function queryParam (request: IncomingMessage, name: string): string | undefined {
  if (request.url === undefined) return undefined
  try {
    return new URL(request.url, 'http://upgrade.invalid').searchParams.get(name) ?? undefined
  } catch {
    return undefined
  }
}

function cookie (request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie
  if (header === undefined) return undefined
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=')
    if (at < 0 || pair.slice(0, at).trim() !== name) continue
    const value = pair.slice(at + 1).trim().replace(/^"(.*)"$/, '$1')
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  }
  return undefined
}

/**
 * The token a connection presents, in this order: the MQTT password (when
 * not empty), then, on WebSocket connections, the `Authorization: Bearer`
 * header, the configured query parameter, the configured cookie. The size
 * limit is checked on raw bytes before decoding or parsing anything.
 */
export function presentedToken (input: ConnectInput, ws: WebsocketOptions, maxBytes: number): Presented {
  const password = input.password
  if (password !== undefined && password.length > 0) {
    if (password.length > maxBytes) return { kind: 'too-large', origin: 'password', bytes: password.length }
    let text: string
    try {
      text = utf8.decode(password)
    } catch {
      return { kind: 'not-utf8', origin: 'password' }
    }
    return candidate(text, 'password', maxBytes)
  }
  const request = input.request
  if (request === undefined) return { kind: 'none' }
  const fromHeader = ws.header ? bearer(request) : undefined
  if (fromHeader !== undefined) return candidate(fromHeader, 'authorization header', maxBytes)
  const fromQuery = ws.queryParam === undefined ? undefined : queryParam(request, ws.queryParam)
  if (fromQuery !== undefined && fromQuery.length > 0) return candidate(fromQuery, 'query parameter', maxBytes)
  const fromCookie = ws.cookie === undefined ? undefined : cookie(request, ws.cookie)
  if (fromCookie !== undefined && fromCookie.length > 0) return candidate(fromCookie, 'cookie', maxBytes)
  return { kind: 'none' }
}
