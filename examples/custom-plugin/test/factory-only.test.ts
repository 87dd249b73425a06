import assert from 'node:assert/strict'
import { authenticated, isEmbedmqError, next, refuse, type Plugin } from '@embedmq/core'
import { capturePlugin, connackCode, describeAuthenticatorContract, startTestBroker, type TestBroker } from '@embedmq/testing'
import { factoryOnly } from '../src/index.js'

// 1. The contract every authenticator should pass, over TCP and WebSocket.
describeAuthenticatorContract('factory-only', {
  plugin: () => factoryOnly(),
  accepts: [],
  rejects: [{ clientId: 'laptop-1', returnCode: 2 }, { clientId: 'Factory-7', returnCode: 2 }],
  defers: [{ clientId: 'factory-press-1' }]
})

// 2. Unit level: call the authenticator directly.
describe('factory-only, called directly', () => {
  it('answers next for factory ids and refuses others with 0x02', async () => {
    const { authenticators } = await capturePlugin(factoryOnly({ prefix: 'plant-' }))
    const input = { connectionId: 'test-connection', protocolVersion: 4, clean: true, keepalive: 30, transport: 'tcp' as const, listener: 'test' }
    assert.deepEqual(await authenticators[0]!.authenticate({ ...input, clientId: 'plant-7' }), next())
    assert.deepEqual(await authenticators[0]!.authenticate({ ...input, clientId: 'pc-7' }), refuse(2, 'client id must start with "plant-"'))
  })
})

// 3. In a chain: the gate first, a password check after it.
describe('factory-only in a chain', () => {
  let tb: TestBroker | undefined
  afterEach(async () => { await tb?.stop(); tb = undefined })

  const passwords: Plugin = {
    name: 'passwords',
    register: ctx => ctx.addAuthenticator({
      authenticate: (input) => input.password?.toString() === 'line-secret' ? authenticated() : refuse(4, 'wrong password')
    })
  }

  it('lets a factory id with the right password in, and refuses the rest with the right code', async () => {
    tb = await startTestBroker({ plugins: [passwords, factoryOnly()] })
    const url = tb.url('tcp')
    assert.equal(await connackCode(url, { clientId: 'factory-press-1', username: 'press', password: 'line-secret' }), 0)
    assert.equal(await connackCode(url, { clientId: 'factory-press-1', username: 'press', password: 'guess' }), 4)
    assert.equal(await connackCode(url, { clientId: 'laptop-1', username: 'press', password: 'line-secret' }), 2)
    assert.equal(tb.logs.find('info', 'client id does not start with "factory-"').length, 1)
  })

  it('fails start with a clear error for invalid options', async () => {
    await assert.rejects(startTestBroker({ plugins: [factoryOnly({ prefix: '' })] }), (err: unknown) => {
      assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS'))
      assert.match(err.message, /plugin "factory-only" has invalid options: prefix:/)
      return true
    })
  })
})
