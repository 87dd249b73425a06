import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import type mqtt from 'mqtt'
import { startTestBroker, type TestBroker } from '@embedmq/testing'
import type { BrokerOptions } from '@embedmq/core'
import { jwtAuth, type JwtAuthOptionsInput } from '../src/index.js'

/** 46 bytes: long enough for HS256 (32) and nothing more. */
export const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuv'
export const secretBytes = new TextEncoder().encode(SECRET)

export const now = (): number => Math.floor(Date.now() / 1000)

export interface SignOptions {
  alg?: string
  kid?: string
  /** Seconds from now; null for no exp. Default 3600. */
  expIn?: number | null
  nbfIn?: number
  iss?: string
  aud?: string | string[]
  typ?: string
}

/** Signs a JWT with jose, with `exp` an hour away unless told otherwise. */
export async function sign (claims: JWTPayload, key: CryptoKey | Uint8Array, o: SignOptions = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? 'HS256', ...(o.kid === undefined ? {} : { kid: o.kid }), ...(o.typ === undefined ? {} : { typ: o.typ }) }).setIssuedAt()
  const expIn = o.expIn === undefined ? 3600 : o.expIn
  if (expIn !== null) jwt.setExpirationTime(now() + expIn)
  if (o.nbfIn !== undefined) jwt.setNotBefore(now() + o.nbfIn)
  if (o.iss !== undefined) jwt.setIssuer(o.iss)
  if (o.aud !== undefined) jwt.setAudience(o.aud)
  return jwt.sign(key)
}

/** An HS256 token for `sub` with the usual test secret. */
export const hs = (claims: JWTPayload, o: SignOptions = {}): Promise<string> => sign(claims, secretBytes, { alg: 'HS256', ...o })

export interface KeyPair {
  alg: string
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  /** The public JWK, with kid, alg and use. */
  jwk: JWK
  /** The public key as SPKI PEM. */
  pem: string
}

export async function keyPair (alg: string, kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...await exportJWK(publicKey), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) }
}

/** A JWKS endpoint on a loopback port, served by node:http. */
export interface JwksServer {
  url: string
  /** GET requests served so far. */
  readonly requests: number
  /** Replaces the served keys (key rotation). */
  serve (keys: JWK[]): void
  /** Closes the server: later fetches get ECONNREFUSED. */
  stop (): Promise<void>
}

export async function startJwksServer (keys: JWK[]): Promise<JwksServer> {
  let served = keys
  let requests = 0
  const server: Server = createServer((req, res) => {
    requests++
    if (req.url !== '/.well-known/jwks.json') { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let stopped = false
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get requests () { return requests },
    serve (k) { served = k },
    async stop () {
      if (stopped) return
      stopped = true
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** A test broker (TCP + WS on ephemeral loopback ports) with the plugin. */
export async function brokerWith (options: JwtAuthOptionsInput, broker: BrokerOptions = {}): Promise<TestBroker & { plugin: ReturnType<typeof jwtAuth> }> {
  const plugin = jwtAuth(options)
  const tb = await startTestBroker({ ...broker, plugins: [plugin, ...(broker.plugins ?? [])] })
  return Object.assign(tb, { plugin })
}

/** Resolves when the client's connection closes, or rejects after `ms` naming what it waited for. */
export function closed (client: mqtt.MqttClient, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.disconnected || !client.connected) { resolve(); return }
    const timer = setTimeout(() => reject(new Error(`client ${client.options.clientId ?? ''} was not disconnected within ${ms} ms`)), ms)
    client.once('close', () => { clearTimeout(timer); resolve() })
  })
}

/** Every logged line, as text, to check that no token leaks into logs. */
export function allLogText (tb: TestBroker): string {
  return tb.logs.entries.map(e => `${e.msg} ${JSON.stringify(e.fields)}`).join('\n')
}
