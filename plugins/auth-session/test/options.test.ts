/** Options: what start-up says about bad ones, and the config-file path. */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBroker, isEmbedmqError, loadConfig, MemoryLogger } from '@embedmq/core'
import { connackCode, startTestBroker } from '@embedmq/testing'
import sessionAuthDefault, { fromExpressSession, sessionAuth, type SessionAuthOptionsInput } from '../src/index.js'

const identify = (): undefined => undefined

/** Starts a broker with the plugin and resolves to the start-up error message (failing if it starts). */
async function startupError (options: unknown): Promise<string> {
  const broker = createBroker({ logger: new MemoryLogger(), listeners: [], plugins: [sessionAuth(options as SessionAuthOptionsInput)] })
  try {
    await broker.start()
  } catch (err) {
    assert.ok(isEmbedmqError(err), `a coded error, got ${String(err)}`)
    assert.equal(err.code, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS')
    return err.message
  }
  await broker.stop()
  assert.fail(`the broker started with options ${JSON.stringify(options)}`)
}

describe('auth-session options', () => {
  it('refuses to start without allowedOrigins, saying why (Cross-Site WebSocket Hijacking)', async () => {
    const message = await startupError({ identify })
    assert.match(message, /allowedOrigins is required/)
    assert.match(message, /Cross-Site WebSocket Hijacking/)
    assert.match(await startupError({ identify, allowedOrigins: [] }), /allowedOrigins needs at least one origin/)
  })

  it('refuses allowedOrigins entries that are not origins, naming the entry and the fix', async () => {
    const cases: Array<[string, RegExp]> = [
      ['https://app.example.com/login', /allowedOrigins\.0: "https:\/\/app\.example\.com\/login" has more than an origin.*https:\/\/app\.example\.com/],
      ['app.example.com', /is not an origin: give scheme:\/\/host\[:port\]/],
      ['*', /is not an origin/],
      ['null', /is not an origin/],
      ['ws://app.example.com', /is not an http\(s\) origin/],
      ['https://user:pw@app.example.com', /has more than an origin/]
    ]
    for (const [origin, expected] of cases) assert.match(await startupError({ identify, allowedOrigins: [origin] }), expected, origin)
  })

  it('refuses a missing or non-function identify, unknown keys and out-of-range values', async () => {
    const allowedOrigins = ['https://app.example.com']
    assert.match(await startupError({ allowedOrigins }), /identify: identify must be a function/)
    assert.match(await startupError({ allowedOrigins, identify: 'req.session.user' }), /identify must be a function/)
    assert.match(await startupError({ allowedOrigins, identify, allowedOrigin: ['x'] }), /Unrecognized key: "allowedOrigin"/)
    assert.match(await startupError({ allowedOrigins, identify, onNoSession: 'allow' }), /onNoSession/)
    assert.match(await startupError({ allowedOrigins, identify, identifyTimeoutMs: 0 }), /identifyTimeoutMs/)
    assert.match(await startupError({ allowedOrigins, identify, listeners: [] }), /listeners, when given, names at least one listener/)
  })

  it('normalizes origins as browsers send them (letter case, default port, trailing slash)', async () => {
    const tb = await startTestBroker({ plugins: [sessionAuth({ identify: () => ({ username: 'u' }), allowedOrigins: ['HTTPS://App.Example.com:443/'] })] })
    try {
      const from = (origin: string): Promise<number> => connackCode(tb.url('ws'), { wsOptions: { headers: { Origin: origin } } })
      assert.equal(await from('https://app.example.com'), 0)
      assert.equal(await from('https://app.example.com:8443'), 5)
      assert.equal(await from('http://app.example.com'), 5)
    } finally {
      await tb.stop()
    }
  })

  it('says what fromExpressSession needs when given something else', () => {
    assert.throws(() => fromExpressSession(undefined as never, () => undefined), /needs the app's express-session middleware/)
    assert.throws(() => fromExpressSession((_req, _res, next) => next(), 'user' as never), /needs a function \(session\)/)
  })

  it('is the default export, as config files load it', () => {
    assert.equal(sessionAuthDefault, sessionAuth)
    assert.equal(sessionAuth({ identify, allowedOrigins: ['https://a.example'] }).name, 'auth-session')
  })

  it('loads from a broker.yaml through a module that supplies identify', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auth-session-'))
    try {
      const file = path.join(dir, 'broker.yaml')
      const module = fileURLToPath(new URL('./fixtures/session-auth-module.js', import.meta.url))
      await writeFile(file, [
        'allowAnonymous: false',
        'listeners:',
        '  - { type: ws, host: 127.0.0.1, port: 0, path: /mqtt, allowedOrigins: [http://app.test] }',
        'plugins:',
        `  - module: ${JSON.stringify(module)}`,
        '    options: { allowedOrigins: [http://app.test], onNoSession: deny }'
      ].join('\n'))
      const broker = createBroker({ ...await loadConfig({ file }), logger: new MemoryLogger() })
      await broker.start()
      try {
        const url = broker.addresses()[0]!.url
        assert.equal(await connackCode(url, { wsOptions: { headers: { Origin: 'http://app.test', Cookie: 'sid=fixture-token' } } }), 0)
        assert.equal(await connackCode(url, { wsOptions: { headers: { Origin: 'http://app.test', Cookie: 'sid=other' } } }), 5)
      } finally {
        await broker.stop()
      }
      // The file alone cannot give identify: start-up says so.
      await writeFile(file, 'plugins:\n  - module: "@embedmq/auth-session"\n    options: { allowedOrigins: [http://app.test] }\n')
      const bare = createBroker({ ...await loadConfig({ file }), logger: new MemoryLogger(), listeners: [] })
      await assert.rejects(bare.start(), /identify must be a function/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
