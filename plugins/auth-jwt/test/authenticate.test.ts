// End to end over TCP and WebSocket with mqtt.js: which tokens get in, which are refused, with what code and log line.
import assert from 'node:assert/strict'
import { connackCode, connect, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import type { ClientContext } from '@embedmq/core'
import { allLogText, brokerWith, hs, keyPair, SECRET, sign, type KeyPair } from './helpers.js'

const refusedWith = (tb: TestBroker, text: string): void => {
  const lines = tb.logs.entries.filter(e => e.msg.includes('refused connection') && e.msg.includes(text))
  assert.ok(lines.length > 0, `expected a refusal log line containing ${JSON.stringify(text)}; got:\n${tb.logs.entries.map(e => e.msg).join('\n')}`)
}

describe('auth-jwt: authentication end to end', function () {
  this.timeout(20_000)
  let tb: TestBroker | undefined
  const clients: mqtt.MqttClient[] = []
  let rsa: KeyPair
  let ec: KeyPair
  let ed: KeyPair
  before(async () => {
    [rsa, ec, ed] = await Promise.all([keyPair('RS256'), keyPair('ES256'), keyPair('EdDSA')])
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb?.stop()
    tb = undefined
  })

  for (const transport of TEST_TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('lets a valid HS256 token in, with the sub claim as username and roles from the token', async () => {
        tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
        const identities: ClientContext['identity'][] = []
        tb.broker.on('clientConnected', (c) => { identities.push(c.identity) })
        const client = await connect(tb.url(transport), { clientId: 'c-hs', username: 'whatever', password: await hs({ sub: 'anna', roles: ['operator', 'viewer'] }) })
        clients.push(client)
        assert.equal(tb.broker.clients()[0]?.username, 'anna', 'the identity is the token\'s, not the MQTT username')
        assert.equal(identities[0]?.authenticatedBy, 'auth-jwt')
        assert.deepEqual(identities[0]?.roles, ['operator', 'viewer'])
        assert.equal(identities[0]?.claims.sub, 'anna')
      })

      it('lets RS256, ES256 and EdDSA tokens in with static public keys (PEM and JWK)', async () => {
        tb = await brokerWith({ algorithms: ['RS256'], publicKey: rsa.pem })
        assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await sign({ sub: 'anna' }, rsa.privateKey, { alg: 'RS256' }) }), 0)
        // Algorithm confusion: an HS256 token keyed with the (public) RSA PEM is refused, whatever the signature.
        assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await sign({ sub: 'anna' }, new TextEncoder().encode(rsa.pem), { alg: 'HS256' }) }), 4)
        refusedWith(tb, 'algorithm "HS256" is not allowed (algorithms: RS256)')
        await tb.stop()
        tb = await brokerWith({ algorithms: ['ES256'], publicKey: ec.jwk as Record<string, unknown> })
        assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await sign({ sub: 'anna' }, ec.privateKey, { alg: 'ES256' }) }), 0)
        await tb.stop()
        tb = await brokerWith({ algorithms: ['EdDSA'], publicKey: ed.pem })
        assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await sign({ sub: 'anna' }, ed.privateKey, { alg: 'EdDSA' }) }), 0)
      })

      it('refuses bad tokens with CONNACK 4 and a log line naming the reason, never the token', async () => {
        tb = await brokerWith({ algorithms: ['HS256', 'RS256'], secret: SECRET, publicKey: rsa.pem, issuer: 'https://idp.example', audience: 'mqtt', clockToleranceSeconds: 0 })
        const base = { iss: 'https://idp.example', aud: 'mqtt' }
        const otherRsa = await keyPair('RS256')
        const cases: Array<[string, string, string]> = [
          ['expired', await hs({ sub: 'anna' }, { ...base, expIn: -30 }), 'token expired at'],
          ['not yet valid', await hs({ sub: 'anna' }, { ...base, nbfIn: 600 }), 'not valid before'],
          ['wrong audience', await hs({ sub: 'anna' }, { ...base, aud: 'billing' }), 'audience "billing"'],
          ['wrong issuer', await hs({ sub: 'anna' }, { ...base, iss: 'https://evil.example' }), 'issuer "https://evil.example"'],
          ['wrong signature (HS)', await sign({ sub: 'anna' }, new TextEncoder().encode('x'.repeat(40)), { ...base, alg: 'HS256' }), 'signature verification failed'],
          ['wrong signature (RS, another key)', await sign({ sub: 'anna' }, otherRsa.privateKey, { ...base, alg: 'RS256' }), 'signature verification failed'],
          ['HS256 signed with the RSA public key as the secret', await sign({ sub: 'anna' }, new TextEncoder().encode(rsa.pem), { ...base, alg: 'HS256' }), 'signature verification failed'],
          ['alg none', `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'anna', ...base, exp: 9999999999 })).toString('base64url')}.`, 'algorithm "none" is not allowed'],
          ['an algorithm not in the list', await sign({ sub: 'anna' }, secretOf(64), { ...base, alg: 'HS512' }), 'algorithm "HS512" is not allowed'],
          ['no exp', await hs({ sub: 'anna' }, { ...base, expIn: null }), '"exp" is missing'],
          ['an exp no date can hold', await hs({ sub: 'anna', exp: -1e20 }, { ...base, expIn: null }), 'not a representable time'],
          ['malformed', 'bm90LWpzb24.e30.c2ln', 'malformed token header'],
          ['not a JWT', 'hunter2', 'not a compact JWS'],
          ['an encrypted token (JWE)', 'a.b.c.d.e', 'encrypted token (JWE)'],
          ['huge', `${'e'.repeat(5000)}.${'e'.repeat(5000)}.x`, 'over maxTokenBytes (8192)']
        ]
        for (const [what, token, reason] of cases) {
          assert.equal(await connackCode(tb.url(transport), { clientId: `bad-${what.replace(/\W+/g, '-')}`, username: 'anna', password: token }), 4, `${what} is refused with CONNACK 4`)
          refusedWith(tb, reason)
        }
        const logs = allLogText(tb)
        for (const [what, token] of cases) {
          const signature = token.split('.')[2] ?? ''
          if (signature.length > 10) assert.ok(!logs.includes(signature), `the ${what} token leaked into the log`)
        }
      })

      it('refuses a password that is not UTF-8 with CONNACK 4', async () => {
        tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
        assert.equal(await connackCode(tb.url(transport), { username: 'anna', password: Buffer.from([0xc3, 0x28, 0xff, 0xfe]) }), 4)
        refusedWith(tb, 'not valid UTF-8')
      })

      it('refuses with CONNACK 5 a valid token it cannot use: no username claim, another MQTT username (requireUsernameMatch), another client id (clientIdClaim)', async () => {
        tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, requireUsernameMatch: true, clientIdClaim: 'cid' })
        assert.equal(await connackCode(tb.url(transport), { clientId: 'dev-1', username: 'anna', password: await hs({ cid: 'dev-1' }) }), 5)
        refusedWith(tb, 'no usable "sub" claim')
        assert.equal(await connackCode(tb.url(transport), { clientId: 'dev-1', username: 'bob', password: await hs({ sub: 'anna', cid: 'dev-1' }) }), 5)
        refusedWith(tb, 'MQTT username "bob" is not the token\'s "sub" "anna"')
        assert.equal(await connackCode(tb.url(transport), { clientId: 'dev-2', username: 'anna', password: await hs({ sub: 'anna', cid: 'dev-1' }) }), 5)
        refusedWith(tb, 'client id "dev-2" is not the token\'s "cid" claim')
        assert.equal(await connackCode(tb.url(transport), { clientId: 'dev-1', username: 'anna', password: await hs({ sub: 'anna', cid: 'dev-1' }) }), 0)
      })

      it('passes a non-JWT password on to the next authenticator when nonJwtPassword is next', async () => {
        tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, nonJwtPassword: 'next' }, {
          plugins: [{
            name: 'passwords',
            register: (ctx) => ctx.addAuthenticator({
              authenticate: (input) => input.password?.toString() === 'hunter2' ? { outcome: 'allow', identity: { username: 'legacy' } } : { outcome: 'next' }
            }, { priority: -1 })
          }]
        })
        assert.equal(await connackCode(tb.url(transport), { username: 'legacy', password: 'hunter2' }), 0)
        assert.equal(await connackCode(tb.url(transport), { username: 'legacy', password: 'wrong' }), 5, 'nobody accepted it: the broker default refuses')
        assert.equal(await connackCode(tb.url(transport), { username: 'legacy', password: Buffer.from([0xff, 0x00, 0xfe]) }), 5, 'binary passwords are passed on too')
        assert.equal(await connackCode(tb.url(transport), { username: 'anna', password: await hs({ sub: 'anna' }, { expIn: -60 }) }), 4, 'a JWT is still judged by this plugin')
      })
    })
  }

  describe('bearer tokens on the WebSocket upgrade', () => {
    it('takes the token from the Authorization header (mqtt.js wsOptions.headers)', async () => {
      tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
      const token = await hs({ sub: 'anna' })
      const client = await connect(tb.url('ws'), { clientId: 'ws-bearer', wsOptions: { headers: { Authorization: `Bearer ${token}` } } })
      clients.push(client)
      assert.equal(tb.broker.clients()[0]?.username, 'anna')
      assert.equal(await connackCode(tb.url('ws'), { wsOptions: { headers: { Authorization: `Bearer ${await hs({ sub: 'anna' }, { expIn: -60 })}` } } }), 4)
      refusedWith(tb, 'token expired at')
      refusedWith(tb, 'token from the authorization header')
      assert.equal(await connackCode(tb.url('ws'), { wsOptions: { headers: { Authorization: `Bearer ${'e'.repeat(6000)}.${'e'.repeat(6000)}.x` } } }), 4)
      refusedWith(tb, 'token in the authorization header is 12003 bytes, over maxTokenBytes (8192)')
    })

    it('takes the token from a configured query parameter or cookie, and only when configured', async () => {
      const token = await hs({ sub: 'anna' })
      tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
      assert.equal(await connackCode(`${tb.url('ws')}?access_token=${token}`, {}), 5, 'query parameters are not read unless configured')
      await tb.stop()
      tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, websocket: { queryParam: 'access_token', cookie: 'mqtt_jwt' } })
      assert.equal(await connackCode(`${tb.url('ws')}?access_token=${token}`, {}), 0)
      assert.equal(await connackCode(tb.url('ws'), { wsOptions: { headers: { Cookie: `theme=dark; mqtt_jwt=${token}` } } }), 0)
      assert.equal(await connackCode(`${tb.url('ws')}?access_token=${await hs({ sub: 'anna' }, { expIn: -60 })}`, {}), 4)
      refusedWith(tb, 'token from the query parameter')
    })

    it('prefers the MQTT password to the header', async () => {
      tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
      const good = await hs({ sub: 'anna' })
      const expired = await hs({ sub: 'anna' }, { expIn: -60 })
      assert.equal(await connackCode(tb.url('ws'), { username: 'anna', password: expired, wsOptions: { headers: { Authorization: `Bearer ${good}` } } }), 4)
      assert.equal(await connackCode(tb.url('ws'), { username: 'anna', password: good, wsOptions: { headers: { Authorization: `Bearer ${expired}` } } }), 0)
    })
  })
})

function secretOf (bytes: number): Uint8Array {
  return new Uint8Array(bytes).fill(7)
}
