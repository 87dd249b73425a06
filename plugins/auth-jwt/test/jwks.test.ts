// Keys from a JWKS endpoint served by node:http in the test: rotation, an unknown kid, the endpoint going down.
import assert from 'node:assert/strict'
import { connackCode, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import { brokerWith, keyPair, sign, startJwksServer, type JwksServer, type KeyPair } from './helpers.js'

describe('auth-jwt: keys from a JWKS endpoint', function () {
  this.timeout(20_000)
  let tb: TestBroker | undefined
  let jwks: JwksServer | undefined
  let k1: KeyPair
  let k2: KeyPair
  let k3: KeyPair
  before(async () => {
    [k1, k2, k3] = await Promise.all([keyPair('RS256', 'k1'), keyPair('ES256', 'k2'), keyPair('RS256', 'k3')])
  })
  afterEach(async () => {
    await tb?.stop()
    await jwks?.stop()
    tb = undefined
    jwks = undefined
  })
  const token = (k: KeyPair, kid = k.kid): Promise<string> => sign({ sub: 'anna' }, k.privateKey, { alg: k.alg, kid })

  for (const transport of TEST_TRANSPORTS) {
    it(`verifies tokens with fetched keys and picks up a rotated-in key (${transport})`, async () => {
      jwks = await startJwksServer([k1.jwk])
      // cooldown 0: an unknown kid may trigger a refetch at once (the default, 30 s, limits refetches).
      tb = await brokerWith({ algorithms: ['RS256', 'ES256'], jwksUrl: jwks.url, jwks: { cooldownSeconds: 0 } })
      assert.equal(jwks.requests, 1, 'the key set is fetched once at start')
      assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await token(k1) }), 0)
      assert.equal(jwks.requests, 1, 'cached keys are used without a fetch')

      jwks.serve([k1.jwk, k2.jwk]) // the issuer rotates in k2
      assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await token(k2) }), 0, 'a new kid is fetched')
      assert.equal(jwks.requests, 2)
      assert.ok(tb.logs.find('info', 'fetched 2 key(s)').length > 0)

      assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await token(k3) }), 4, 'a kid the endpoint does not have is refused')
      assert.ok(tb.logs.find('info', 'no key in the JWKS matches kid "k3"').length > 0)
      assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await token(k3, 'k1') }), 4, 'a token claiming k1 but signed by another key is refused')
      assert.ok(tb.logs.find('info', 'signature verification failed (alg RS256, kid "k1")').length > 0)
    })
  }

  it('refetches an unknown kid at most once per cooldown', async () => {
    jwks = await startJwksServer([k1.jwk])
    tb = await brokerWith({ algorithms: ['RS256'], jwksUrl: jwks.url })
    for (let i = 0; i < 5; i++) assert.equal(await connackCode(tb.url('tcp'), { username: 'x', password: await token(k3) }), 4)
    assert.equal(jwks.requests, 1, 'random kids cannot make the broker hammer the endpoint')
  })

  it('keeps accepting cached keys while the endpoint is down, and refuses unknown kids with CONNACK 3', async () => {
    jwks = await startJwksServer([k1.jwk])
    // cacheMaxAge 0: every login wants a fresh key set, so every login meets the outage.
    tb = await brokerWith({ algorithms: ['RS256'], jwksUrl: jwks.url, jwks: { cacheMaxAgeSeconds: 0, cooldownSeconds: 0 } })
    assert.equal(await connackCode(tb.url('tcp'), { username: 'x', password: await token(k1) }), 0)
    await jwks.stop()

    for (const transport of TEST_TRANSPORTS) {
      assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await token(k1) }), 0, 'the cached k1 still verifies')
      assert.equal(await connackCode(tb.url(transport), { username: 'x', password: await token(k3) }), 3, 'an unknown kid cannot be checked: server unavailable')
    }
    const outage = tb.logs.find('warn', 'is unreachable')
    assert.equal(outage.length, 1, 'the outage is logged once, not per login')
    assert.match(outage[0]!.msg, /tokens signed with the keys cached at .* are still accepted/)
    assert.ok(tb.logs.find('info', 'no cached key has kid "k3"').length > 0)
  })

  it('stops trusting cached keys after maxStaleSeconds', async () => {
    jwks = await startJwksServer([k1.jwk])
    tb = await brokerWith({ algorithms: ['RS256'], jwksUrl: jwks.url, jwks: { cacheMaxAgeSeconds: 0, maxStaleSeconds: 0.001 } })
    await jwks.stop()
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(await connackCode(tb.url('tcp'), { username: 'x', password: await token(k1) }), 3)
    assert.ok(tb.logs.find('info', 'older than jwks.maxStaleSeconds').length > 0)
  })

  it('starts when the endpoint is unreachable, logs it, and refuses public-key tokens with CONNACK 3', async () => {
    jwks = await startJwksServer([k1.jwk])
    const url = jwks.url
    await jwks.stop()
    tb = await brokerWith({ algorithms: ['RS256'], jwksUrl: url })
    assert.ok(tb.logs.find('warn', 'no keys are cached').length > 0)
    assert.equal(await connackCode(tb.url('tcp'), { username: 'x', password: await token(k1) }), 3)
    assert.ok(tb.logs.find('info', 'no keys were fetched yet').length > 0)
  })

  it('warns when jwks.timeoutMs is not below the broker\'s link timeout', async () => {
    jwks = await startJwksServer([k1.jwk])
    tb = await brokerWith({ algorithms: ['RS256'], jwksUrl: jwks.url, jwks: { timeoutMs: 3000 } }, { pluginTimeouts: { linkMs: 2000 } })
    assert.ok(tb.logs.find('warn', 'jwks.timeoutMs (3000) is not below pluginTimeouts.linkMs (2000)').length > 0)
  })

  it('treats an endpoint answering garbage like one that is down', async () => {
    jwks = await startJwksServer([k1.jwk])
    tb = await brokerWith({ algorithms: ['RS256'], jwksUrl: jwks.url.replace('/.well-known/jwks.json', '/nothing-here') })
    assert.ok(tb.logs.find('warn', 'HTTP 404').length > 0)
    assert.equal(await connackCode(tb.url('tcp'), { username: 'x', password: await token(k1) }), 3)
  })
})
