// Configuration: every mistake fails start with a message naming the field; a config file loads the plugin by name.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBroker, isEmbedmqError, loadConfig, silentLogger } from '@embedmq/core'
import { connackCode, startTestBroker } from '@embedmq/testing'
import { generateKeyPair, exportPKCS8 } from 'jose'
import jwtAuthDefault, { jwtAuth, type JwtAuthOptionsInput } from '../src/index.js'
import { hs, keyPair, SECRET, sign } from './helpers.js'

/** Starts a broker with the plugin and resolves to the start error's code and message. */
async function startError (options: JwtAuthOptionsInput): Promise<{ code: string, message: string }> {
  const broker = createBroker({ logger: silentLogger, listeners: [], plugins: [jwtAuth(options)] })
  try {
    await broker.start()
  } catch (err) {
    assert.ok(isEmbedmqError(err), `expected an EmbedmqError, got ${String(err)}`)
    return { code: err.code, message: err.message }
  } finally {
    await broker.stop()
  }
  throw new Error('start should have failed')
}

describe('auth-jwt: options', function () {
  this.timeout(20_000)

  it('exports the factory as the default export', () => {
    assert.equal(jwtAuthDefault, jwtAuth)
  })

  it('refuses invalid options at start, naming the field', async () => {
    const rsa = await keyPair('RS256')
    const cases: Array<[string, JwtAuthOptionsInput, RegExp]> = [
      ['no algorithms', { algorithms: [] } as unknown as JwtAuthOptionsInput, /algorithms:/],
      ['alg none', { algorithms: ['none'], secret: SECRET } as unknown as JwtAuthOptionsInput, /algorithms\.0:/],
      ['HS256 without a secret', { algorithms: ['HS256'] }, /secret: algorithms include HS256, which need a secret/],
      ['RS256 without a key', { algorithms: ['RS256'] }, /publicKey: algorithms include RS256, which need a publicKey/],
      ['a secret without an HS algorithm', { algorithms: ['RS256'], publicKey: rsa.pem, secret: SECRET }, /secret: a secret is only used by HS256/],
      ['publicKey and jwksUrl', { algorithms: ['RS256'], publicKey: rsa.pem, jwksUrl: 'https://idp.example/jwks' }, /jwksUrl: give publicKey or jwksUrl, not both/],
      ['a jwksUrl that is not a URL', { algorithms: ['RS256'], jwksUrl: 'idp.example/jwks' }, /jwksUrl:/],
      ['a typo', { algorithms: ['HS256'], secret: SECRET, audiance: 'x' } as unknown as JwtAuthOptionsInput, /audiance/],
      ['a huge maxTokenBytes', { algorithms: ['HS256'], secret: SECRET, maxTokenBytes: 10 ** 7 }, /maxTokenBytes:/]
    ]
    for (const [what, options, message] of cases) {
      const err = await startError(options)
      assert.equal(err.code, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS', what)
      assert.match(err.message, message, what)
    }
  })

  it('refuses unusable keys at start with a message that says what to do', async () => {
    const rsa = await keyPair('RS256')
    const { privateKey } = await generateKeyPair('RS256', { extractable: true })
    const cases: Array<[string, JwtAuthOptionsInput, RegExp]> = [
      ['a short HS256 secret', { algorithms: ['HS256'], secret: 'short' }, /secret is 5 bytes; HS256 needs at least 32/],
      ['an HS512 secret shorter than 64 bytes', { algorithms: ['HS512'], secret: SECRET }, /HS512 needs at least 64/],
      ['a private key PEM', { algorithms: ['RS256'], publicKey: await exportPKCS8(privateKey) }, /is a private key; give the broker only the public key/],
      ['a private JWK', { algorithms: ['ES256'], publicKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' } }, /private or symmetric key/],
      ['an RSA key for ES256', { algorithms: ['ES256'], publicKey: rsa.pem }, /publicKey \(RSA 2048-bit key\) verifies RS256.*, but algorithms allows only ES256/],
      ['garbage PEM', { algorithms: ['RS256'], publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, /not a usable public key/],
      ['a missing publicKeyFile', { algorithms: ['RS256'], publicKeyFile: '/nonexistent/key.pem' }, /cannot read publicKeyFile \/nonexistent\/key.pem/],
      ['a 1024-bit RSA key', { algorithms: ['RS256'], publicKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString() }, /RSA 1024-bit key\) is too short/],
      ['plain http JWKS on a remote host', { algorithms: ['RS256'], jwksUrl: 'http://idp.example/jwks' }, /plain http on a non-loopback host/]
    ]
    for (const [what, options, message] of cases) {
      const err = await startError(options)
      assert.equal(err.code, 'EMBEDMQ_PLUGIN_START_FAILED', what)
      assert.match(err.message, message, what)
    }
  })

  it('refuses at login (CONNACK 4) a token whose allowed algorithm does not fit the static key', async () => {
    const rsa = await keyPair('RS256')
    const ec = await keyPair('ES256')
    const tb = await startTestBroker({ plugins: [jwtAuth({ algorithms: ['RS256', 'ES256'], publicKey: rsa.pem })] })
    try {
      assert.equal(await connackCode(tb.url('tcp'), { username: 'a', password: await sign({ sub: 'anna' }, ec.privateKey, { alg: 'ES256' }) }), 4)
      assert.ok(tb.logs.find('info', 'token algorithm ES256 does not fit the configured RSA 2048-bit public key').length > 0)
    } finally {
      await tb.stop()
    }
  })

  it('reads keys from files, a base64 secret, and a local JWK Set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-jwt-'))
    try {
      const rsa = await keyPair('RS256')
      await writeFile(join(dir, 'key.pem'), rsa.pem)
      await writeFile(join(dir, 'secret'), `${Buffer.from(SECRET).toString('base64')}\n`)
      const tb = await startTestBroker({ plugins: [jwtAuth({ algorithms: ['HS256', 'RS256'], secretFile: join(dir, 'secret'), secretEncoding: 'base64', publicKeyFile: join(dir, 'key.pem') })] })
      try {
        assert.equal(await connackCode(tb.url('tcp'), { username: 'a', password: await hs({ sub: 'anna' }) }), 0)
      } finally {
        await tb.stop()
      }
      const ec = await keyPair('ES256', 'ec-1')
      const set = await startTestBroker({ plugins: [jwtAuth({ algorithms: ['RS256', 'ES256'], publicKey: { keys: [rsa.jwk, ec.jwk] } })] })
      try {
        assert.equal(await connackCode(set.url('tcp'), { username: 'a', password: await sign({ sub: 'anna' }, ec.privateKey, { alg: 'ES256', kid: 'ec-1' }) }), 0)
        assert.equal(await connackCode(set.url('tcp'), { username: 'a', password: await sign({ sub: 'anna' }, rsa.privateKey, { alg: 'RS256', kid: rsa.kid }) }), 0)
      } finally {
        await set.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('loads from a broker.yaml plugins entry by package name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-jwt-'))
    try {
      const file = join(dir, 'broker.yaml')
      await writeFile(file, [
        'listeners:',
        '  - { type: tcp, host: 127.0.0.1, port: 0 }',
        'plugins:',
        '  - module: "@embedmq/auth-jwt"',
        '    options:',
        '      algorithms: [HS256]',
        `      secret: "${SECRET}"`,
        '      audience: mqtt',
        '      acl: { whenMissing: deny }',
        ''
      ].join('\n'))
      const broker = createBroker({ ...await loadConfig({ file, env: {} }), logger: silentLogger })
      await broker.start()
      try {
        const url = broker.addresses()[0]!.url
        assert.equal(await connackCode(url, { username: 'a', password: await hs({ sub: 'anna' }, { aud: 'mqtt' }) }), 0)
        assert.equal(await connackCode(url, { username: 'a', password: await hs({ sub: 'anna' }, { aud: 'other' }) }), 4)
      } finally {
        await broker.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
