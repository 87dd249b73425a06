/**
 * Bad input over real sockets: huge and non-UTF-8 cookies, and an app whose
 * identify function or session store throws, hangs or answers garbage. Each
 * is refused with a log line saying what to fix, and the broker keeps serving.
 */
import assert from 'node:assert/strict'
import type { RequestHandler } from 'express'
import session from 'express-session'
import type mqtt from 'mqtt'
import { connackCode, startTestBroker, type TestBroker } from '@embedmq/testing'
import { sessionAuth, type Identify } from '../src/index.js'
import { SESSION_SECRET, startHostApp, type HostApp } from './helpers/host-app.js'
import { upgradeStatus } from './helpers/upgrade.js'

const ORIGIN = 'http://app.test'
const asBrowser = (cookie?: string): mqtt.IClientOptions => ({ wsOptions: { headers: { Origin: ORIGIN, ...(cookie === undefined ? {} : { Cookie: cookie }) } } })
const GOOD = 'sid=good-token'

/** A good session, and whatever `misbehave` does for the cookie `sid=bad`. */
function identifyWith (misbehave: () => unknown): Identify {
  return (req) => {
    const cookie = req.headers.cookie ?? ''
    if (cookie === GOOD) return { username: 'good-user' }
    if (cookie === 'sid=bad') return misbehave() as ReturnType<Identify>
    return undefined
  }
}

describe('auth-session bad input', function () {
  let tb: TestBroker | undefined
  let app: HostApp | undefined
  afterEach(async () => {
    await tb?.stop()
    await app?.stop()
    tb = app = undefined
  })
  const startWith = async (identify: Identify, identifyTimeoutMs?: number): Promise<TestBroker> => {
    tb = await startTestBroker({ plugins: [sessionAuth({ identify, allowedOrigins: [ORIGIN], ...(identifyTimeoutMs === undefined ? {} : { identifyTimeoutMs }) })] })
    return tb
  }
  /** The broker still serves: a good session logs in after the bad one. */
  const stillServes = async (b: TestBroker): Promise<void> => {
    assert.equal(await connackCode(b.url('ws'), asBrowser(GOOD)), 0, 'the broker keeps serving good sessions')
  }

  describe('identify functions that misbehave', () => {
    it('refuses with CONNACK 3 and logs when identify throws', async () => {
      const b = await startWith(identifyWith(() => { throw new Error('users table is locked') }))
      assert.equal(await connackCode(b.url('ws'), asBrowser('sid=bad')), 3)
      assert.equal(b.logs.find('error', 'identify failed for WebSocket client').length, 1)
      assert.match(b.logs.find('error', 'identify failed')[0]!.msg, /users table is locked; refusing with CONNACK 3/)
      await stillServes(b)
    })

    it('refuses with CONNACK 3 and logs when identify rejects, even with a non-Error', async () => {
      const b = await startWith(identifyWith(() => Promise.reject(new Error('session store unreachable'))))
      assert.equal(await connackCode(b.url('ws'), asBrowser('sid=bad')), 3)
      assert.match(b.logs.find('error', 'identify failed')[0]!.msg, /session store unreachable/)
      await b.stop()
      const c = await startWith(identifyWith(() => Promise.reject('a string, not an Error')))
      assert.equal(await connackCode(c.url('ws'), asBrowser('sid=bad')), 3)
      assert.match(c.logs.find('error', 'identify failed')[0]!.msg, /a string, not an Error/)
      await stillServes(c)
    })

    it('refuses with CONNACK 3 and logs when identify hangs past identifyTimeoutMs', async () => {
      const b = await startWith(identifyWith(() => new Promise(() => {})), 200)
      assert.equal(await connackCode(b.url('ws'), asBrowser('sid=bad')), 3)
      assert.match(b.logs.find('error', 'did not answer within 200 ms')[0]!.msg, /Check the session store, or raise identifyTimeoutMs/)
      await stillServes(b)
    })

    it('refuses with CONNACK 3 and logs what is wrong when identify answers something that is not an identity', async () => {
      const answers: Array<[unknown, RegExp]> = [
        ['anna', /not string/],
        [['anna'], /not an array/],
        [{ name: 'anna', email: 'a@example.com' }, /without a username.*keys: name, email/],
        [{ username: '' }, /without a username/],
        [{ username: 'an\u0000na' }, /U\+0000/],
        [{ username: 'x'.repeat(70_000) }, /longer than 65535 bytes/],
        [{ username: 'anna', roles: 'admin' }, /roles that are not an array of strings/],
        [{ username: 'anna', roles: [1] }, /roles that are not an array of strings/],
        [{ username: 'anna', claims: [1] }, /claims that are not a plain object/],
        [{ username: 'anna', claims: new Map() }, /claims that are not a plain object/]
      ]
      let answer: unknown
      const b = await startWith(identifyWith(() => answer))
      for (const [given, expected] of answers) {
        answer = given
        const before = b.logs.entries.length
        assert.equal(await connackCode(b.url('ws'), asBrowser('sid=bad')), 3, JSON.stringify(given)?.slice(0, 60))
        const line = b.logs.entries.slice(before).find(e => e.level === 'error' && e.msg.includes('Fix the identify function'))
        assert.ok(line, `an error line for ${JSON.stringify(given)?.slice(0, 60)}`)
        assert.match(line.msg, expected)
      }
      await stillServes(b)
    })

    it('treats null like undefined: no session', async () => {
      const b = await startWith(identifyWith(() => null))
      assert.equal(await connackCode(b.url('ws'), asBrowser('sid=bad')), 5)
    })
  })

  describe('cookies', () => {
    it('refuses a huge cookie header that holds no session, and still finds a session inside one', async () => {
      app = await startHostApp()
      const real = await app.login('anna', 'anna-pw')
      const junk = Array.from({ length: 300 }, (_, i) => `junk${i}=${'x'.repeat(40)}`).join('; ') // ~14 KiB, under Node's 16 KiB header limit
      const headers = (cookie: string): mqtt.IClientOptions => ({ wsOptions: { headers: { Origin: app!.origin, Cookie: cookie } } })
      assert.equal(await connackCode(app.wsUrl(), headers(junk)), 5)
      assert.equal(await connackCode(app.wsUrl(), headers(`connect.sid=s%3A${'A'.repeat(14_000)}.sig`)), 5, 'a 14 KiB session cookie')
      assert.equal(await connackCode(app.wsUrl(), headers(`${junk}; ${real}`)), 0, 'the real session cookie among the junk')
      assert.ok(app.logs.find('info', 'no logged-in session').length >= 2)
    })

    it('leaves a cookie header over the HTTP header limit to the HTTP server (431), and keeps serving', async () => {
      app = await startHostApp()
      const real = await app.login('anna', 'anna-pw')
      assert.equal(await upgradeStatus(app.wsUrl(), { Origin: app.origin, Cookie: `${real}; pad=${'x'.repeat(64 * 1024)}` }), 431)
      assert.equal(await connackCode(app.wsUrl(), { wsOptions: { headers: { Origin: app.origin, Cookie: real } } }), 0)
    })

    it('refuses cookies that are not UTF-8 or not decodable, and is not confused by them next to a good one', async () => {
      app = await startHostApp()
      const real = await app.login('bob', 'bob-pw')
      const headers = (cookie: string): mqtt.IClientOptions => ({ wsOptions: { headers: { Origin: app!.origin, Cookie: cookie } } })
      // Header strings are sent as latin1: \u00ff\u00fe\u0080 are the bytes FF FE 80, which are not UTF-8.
      for (const cookie of ['connect.sid=s:\u00ff\u00fe\u0080.\u00c3(', 'connect.sid=%FF%FE%80', 'connect.sid=s%3A%E0%80%80.sig', '\u00ff\u00fe=\u0080', 'connect.sid', '=;;=;']) {
        assert.equal(await connackCode(app.wsUrl(), headers(cookie)), 5, JSON.stringify(cookie))
      }
      assert.equal(await connackCode(app.wsUrl(), headers(`bad=\u00ff\u00fe; ${real}`)), 0, 'a good session next to a non-UTF-8 cookie')
    })
  })

  describe('session middleware that fails', () => {
    const withMiddleware = async (pluginMiddleware: RequestHandler, identifyTimeoutMs?: number): Promise<HostApp> => {
      app = await startHostApp({ pluginMiddleware, ...(identifyTimeoutMs === undefined ? {} : { sessionAuth: () => ({ identifyTimeoutMs }) }) })
      return app
    }
    const login = async (a: HostApp): Promise<string> => a.login('anna', 'anna-pw')
    const tryWith = (a: HostApp, cookie: string): Promise<number> => connackCode(a.wsUrl(), { wsOptions: { headers: { Origin: a.origin, Cookie: cookie } } })

    it('refuses with CONNACK 3 when the session store fails, naming the store error', async () => {
      class FailingStore extends session.MemoryStore {
        override get (_sid: string, callback: (err: unknown) => void): void { setImmediate(() => callback(new Error('ECONNREFUSED 127.0.0.1:6379'))) }
      }
      const a = await withMiddleware(session({ secret: SESSION_SECRET, store: new FailingStore(), resave: false, saveUninitialized: false }))
      assert.equal(await tryWith(a, await login(a)), 3)
      assert.match(a.logs.find('error', 'identify failed')[0]!.msg, /the session middleware failed: ECONNREFUSED 127\.0\.0\.1:6379/)
    })

    it('refuses with CONNACK 3 when the store reports it is disconnected, saying so', async () => {
      const store = new session.MemoryStore()
      const a = await withMiddleware(session({ secret: SESSION_SECRET, store, resave: false, saveUninitialized: false }))
      store.emit('disconnect')
      assert.equal(await tryWith(a, await login(a)), 3)
      assert.match(a.logs.find('error', 'identify failed')[0]!.msg, /loaded no session for \/mqtt: its store reports it is disconnected, or the session cookie's path/)
    })

    it("refuses with CONNACK 3 when the session cookie's path does not cover the MQTT path, saying so", async () => {
      const a = await withMiddleware(session({ secret: SESSION_SECRET, store: new session.MemoryStore(), resave: false, saveUninitialized: false, cookie: { path: '/app' } }))
      assert.equal(await tryWith(a, await login(a)), 3)
      assert.match(a.logs.find('error', 'identify failed')[0]!.msg, /cookie\.path/)
    })

    it('refuses with CONNACK 3 when the middleware answers the request itself, throws or never calls next', async () => {
      const ends: RequestHandler = (_req, res) => { res.status(500).end() }
      let a = await withMiddleware(ends)
      assert.equal(await tryWith(a, await login(a)), 3)
      assert.match(a.logs.find('error', 'identify failed')[0]!.msg, /answered the upgrade request itself \(HTTP 500\) instead of calling next\(\)/)
      await a.stop()

      const throws: RequestHandler = () => { throw new TypeError('cannot read properties of undefined') }
      a = await withMiddleware(throws)
      assert.equal(await tryWith(a, await login(a)), 3)
      assert.match(a.logs.find('error', 'identify failed')[0]!.msg, /cannot read properties of undefined/)
      await a.stop()

      const hangs: RequestHandler = () => {}
      a = await withMiddleware(hangs, 200)
      assert.equal(await tryWith(a, await login(a)), 3)
      assert.equal(a.logs.find('error', 'did not answer within 200 ms').length, 1)
    })
  })
})
