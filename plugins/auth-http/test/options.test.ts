import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBroker, isEmbedmqError, loadConfig, MemoryLogger } from '@embedmq/core'
import { connackCode, startTestBroker } from '@embedmq/testing'
import authHttpDefault, { authHttp, authHttpOptionsSchema, type AuthHttpOptionsInput } from '../src/index.js'
import { AuthService, policy } from './auth-service.js'

/** Starting a broker with these options fails; resolves to the error message. */
async function startFails (options: unknown): Promise<string> {
  const broker = createBroker({ logger: new MemoryLogger(), listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], plugins: [authHttp(options as AuthHttpOptionsInput)] })
  try {
    await broker.start()
  } catch (err) {
    assert.ok(isEmbedmqError(err), `expected an EmbedmqError, got ${String(err)}`)
    assert.equal(err.code, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS')
    return err.message
  } finally {
    await broker.stop()
  }
  assert.fail('the broker started')
}

describe('auth-http options', () => {
  it('applies documented defaults', () => {
    const parsed = authHttpOptionsSchema.parse({ authenticate: 'http://127.0.0.1/auth' })
    assert.deepEqual(parsed.authenticate, { url: 'http://127.0.0.1/auth', method: 'POST', headers: {} })
    assert.equal(parsed.timeoutMs, 2000)
    assert.equal(parsed.onError, 'deny')
    assert.equal(parsed.allowInsecure, false)
    assert.equal(parsed.maxResponseBytes, 65536)
    assert.deepEqual(parsed.cache, {
      authenticate: { allowTtlMs: 30_000, denyTtlMs: 5_000, maxEntries: 10_000 },
      authorize: { allowTtlMs: 60_000, denyTtlMs: 30_000, maxEntries: 100_000 }
    })
  })

  const bad: Array<[string, unknown, RegExp]> = [
    ['no endpoint at all', {}, /\(options\): set `authenticate` and\/or `authorize`/],
    ['no options at all (a config entry without options)', undefined, /set `authenticate` and\/or `authorize`/],
    ['a URL that is not one', { authenticate: 'auth-service' }, /authenticate\.url: "auth-service" is not a URL/],
    ['a non-HTTP URL', { authorize: 'ftp://127.0.0.1/acl' }, /authorize\.url: must be an http:\/\/ or https:\/\/ URL, not ftp:\/\//],
    ['credentials in the URL', { authenticate: 'https://svc:pw@auth.example.com/login' }, /authenticate\.url: must not contain credentials .* send a shared secret with `headers` instead/],
    ['a password over plain http to another host', { authenticate: 'http://10.0.0.5/auth' }, /authenticate\.url: http:\/\/10\.0\.0\.5 is plain http:\/\/ and not loopback: client passwords would cross the network in clear text\. Use https:\/\/, or set allowInsecure: true/],
    ['a shared secret over plain http to another host', { authorize: 'http://acl.internal/acl', headers: { 'x-secret': 's' } }, /authorize\.url: http:\/\/acl\.internal is plain http:\/\/ .* the configured headers/],
    ['a header name with a space', { authorize: 'http://127.0.0.1/acl', headers: { 'bad name': 'x' } }, /headers\.bad name: "bad name" is not a valid HTTP header name/],
    ['a header value with a newline', { authenticate: { url: 'http://127.0.0.1/a', headers: { 'x-secret': 'a\r\nInjected: 1' } } }, /authenticate\.headers\.x-secret: .*CR, LF, NUL/],
    ['GET (it would put passwords in URLs)', { authenticate: { url: 'http://127.0.0.1/a', method: 'GET' } }, /authenticate\.method: Invalid option: expected one of "POST"\|"PUT"/],
    ['a negative timeout', { authenticate: 'http://127.0.0.1/a', timeoutMs: -1 }, /timeoutMs: Too small/],
    ['an unknown onError', { authenticate: 'http://127.0.0.1/a', onError: 'allow' }, /onError: Invalid option: expected one of "deny"\|"next"/],
    ['an authorization TTL under the floor', { authorize: 'http://127.0.0.1/acl', cache: { authorize: { allowTtlMs: 10 } } }, /cache\.authorize\.allowTtlMs: Too small: expected number to be >=1000/],
    ['a misspelt key', { authenticate: 'http://127.0.0.1/a', timeoutMS: 100 }, /Unrecognized key: "timeoutMS"/],
    ['a misspelt endpoint key', { authenticate: { uri: 'http://127.0.0.1/a' } }, /authenticate/]
  ]
  for (const [what, options, message] of bad) {
    it(`fails start with a message naming the field: ${what}`, async () => {
      assert.match(await startFails(options), message)
    })
  }

  it('accepts loopback http:// without allowInsecure (localhost, 127.0.0.0/8, [::1]), and other hosts with it', () => {
    for (const url of ['http://localhost:8080/a', 'http://127.0.0.2/a', 'http://[::1]:9000/a', 'http://[::ffff:127.0.0.1]/a', 'https://auth.example.com/a']) {
      assert.ok(authHttpOptionsSchema.safeParse({ authenticate: url }).success, url)
    }
    assert.ok(!authHttpOptionsSchema.safeParse({ authenticate: 'http://localhost.evil.example/a' }).success)
    assert.ok(!authHttpOptionsSchema.safeParse({ authenticate: 'http://[::ffff:10.0.0.1]/a' }).success)
    assert.ok(authHttpOptionsSchema.safeParse({ authenticate: 'http://10.0.0.5/a', allowInsecure: true }).success)
    assert.ok(authHttpOptionsSchema.safeParse({ authorize: 'http://acl.internal/acl' }).success, 'no secret travels to an authorize endpoint without headers')
  })

  it('warns at start about an authorize endpoint over plain http on the network', async () => {
    const tb = await startTestBroker({ plugins: [authHttp({ authorize: 'http://acl.internal.example/acl' })] })
    try {
      assert.equal(tb.logs.find('warn', 'plain http:// over the network').length, 1)
      assert.equal(tb.logs.find('info', 'delegating authorization to HTTP').length, 1)
    } finally {
      await tb.stop()
    }
  })

  it('loads from a broker.yaml plugins entry through its default export', async () => {
    assert.equal(authHttpDefault, authHttp)
    const service = await AuthService.start(policy())
    const dir = await mkdtemp(join(tmpdir(), 'auth-http-'))
    try {
      const file = join(dir, 'broker.yaml')
      await writeFile(file, [
        'listeners:',
        '  - { type: tcp, host: 127.0.0.1, port: 0 }',
        'plugins:',
        '  - module: "@embedmq/auth-http"',
        '    options:',
        `      authenticate: ${service.url('/auth')}`,
        '      authorize: { url: ' + service.url('/acl') + ', method: PUT }',
        '      headers: { x-auth-secret: from-yaml }',
        '      timeoutMs: 1500',
        ''
      ].join('\n'))
      // Resolved from the folder of the config file in production; this package's own folder here.
      const config = await loadConfig({ file })
      const broker = createBroker({ ...config, logger: new MemoryLogger() })
      await broker.start()
      try {
        assert.equal(await connackCode(broker.addresses()[0]!.url, { username: 'anna', password: 'secret' }), 0)
        assert.equal(service.requests[0]!.headers['x-auth-secret'], 'from-yaml')
      } finally {
        await broker.stop()
      }
    } finally {
      await service.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
