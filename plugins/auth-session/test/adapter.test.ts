/**
 * fromExpressSession on a real upgrade request: it loads the app's session
 * with the app's middleware, writes nothing to the socket, and leaves the
 * request as it was (the broker keeps it for the connection's life).
 */
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ConnectInput } from '@embedmq/core'
import { fromExpressSession, type IdentifyResult } from '../src/index.js'
import { startHostApp, type HostApp } from './helpers/host-app.js'
import { upgradeStatus } from './helpers/upgrade.js'

interface Probe { identity: IdentifyResult, written: number, ownKeysAdded: string[], error?: string }

describe('fromExpressSession on a real upgrade request', () => {
  let app: HostApp | undefined
  afterEach(async () => { await app?.stop(); app = undefined })

  /** Runs the adapter inside the server's own 'upgrade' event for /probe, then answers 204 itself. */
  async function probe (a: HostApp, cookie: string | undefined): Promise<Probe> {
    const identify = fromExpressSession(a.sessionMiddleware, (s: { user?: { name: string } }) => (s.user ? { username: s.user.name } : undefined))
    let result: Probe | undefined
    const onUpgrade = (req: IncomingMessage, socket: Duplex & { bytesWritten?: number }): void => {
      if (req.url !== '/probe') return
      const keys = new Set(Object.keys(req))
      const before = socket.bytesWritten ?? 0
      Promise.resolve(identify(req, { clientId: 'probe' } as ConnectInput)).then(
        (identity) => { result = { identity, written: (socket.bytesWritten ?? 0) - before, ownKeysAdded: Object.keys(req).filter(k => !keys.has(k)) } },
        (err: Error) => { result = { identity: undefined, written: (socket.bytesWritten ?? 0) - before, ownKeysAdded: [], error: err.message } }
      ).finally(() => socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'))
    }
    a.server.on('upgrade', onUpgrade)
    try {
      assert.equal(await upgradeStatus(a.wsUrl().replace('/mqtt', '/probe'), cookie === undefined ? {} : { Cookie: cookie }), 204)
    } finally {
      a.server.off('upgrade', onUpgrade)
    }
    assert.ok(result, 'the probe ran')
    return result
  }

  it('loads the logged-in session, writing nothing to the socket and adding nothing to the request', async () => {
    app = await startHostApp()
    const got = await probe(app, await app.login('anna', 'anna-pw'))
    assert.deepEqual(got, { identity: { username: 'anna' }, written: 0, ownKeysAdded: [] })
  })

  it('answers undefined, silently, for no cookie and for a forged one', async () => {
    app = await startHostApp()
    assert.deepEqual(await probe(app, undefined), { identity: undefined, written: 0, ownKeysAdded: [] })
    assert.deepEqual(await probe(app, 'connect.sid=s%3Aabc.forged'), { identity: undefined, written: 0, ownKeysAdded: [] })
  })
})
