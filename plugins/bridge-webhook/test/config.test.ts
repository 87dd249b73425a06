import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createBroker, isEmbedmqError, loadConfig, MemoryLogger } from '@embedmq/core'
import { connect, eventually, tempDirs } from '@embedmq/testing'
import webhookDefault, { verifySignature, webhook, type WebhookOptionsInput } from '../src/index.js'
import { SECRET, startReceiver } from './support.js'

/** Starting a broker with these options fails; resolves to the error message. */
async function startFails (options: unknown): Promise<string> {
  const broker = createBroker({ logger: new MemoryLogger(), listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], plugins: [webhook(options as WebhookOptionsInput)] })
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

describe('webhook configuration', () => {
  const dirs = tempDirs('bridge-webhook-')
  after(() => dirs.remove())

  it('bad options fail broker.start() with an error naming the field', async () => {
    const hook = { url: 'https://example.com/hook', events: ['message.published'] }
    assert.match(await startFails({ endpoints: { a: { ...hook, url: 'example.com/hook' } } }),
      /^plugin "bridge-webhook" has invalid options: endpoints\.a\.url: "example\.com\/hook" is not a valid URL$/)
    assert.match(await startFails({ endpoints: { a: { ...hook, events: ['message.published', 'client.connect'] } } }),
      /endpoints\.a\.events\.1: Invalid option: expected one of "message\.published"\|/)
    assert.match(await startFails({ endpoints: { a: { ...hook, topics: ['plant/+x'] } } }),
      /endpoints\.a\.topics\.0: "plant\/\+x" is not a valid topic filter: it '\+' must be a whole level/)
    assert.match(await startFails({ endpoints: { a: { ...hook, batch: { maxEvents: 0 } } } }), /endpoints\.a\.batch\.maxEvents: /)
    assert.match(await startFails({ endpoints: {} }), /endpoints: configure at least one endpoint/)
    assert.match(await startFails({ endpoints: { 'has space': hook } }), /endpoints\.has space: endpoint name "has space" must be/)
    assert.match(await startFails({ endpoint: { a: hook } }), /Unrecognized key: "endpoint"/)
  })

  it('loads from a broker.yaml plugins entry through its default export', async () => {
    assert.equal(webhookDefault, webhook)
    const receiver = await startReceiver()
    try {
      const file = join(await dirs.make(), 'broker.yaml')
      await writeFile(file, [
        'allowAnonymous: true',
        'listeners:',
        '  - { type: tcp, host: 127.0.0.1, port: 0 }',
        'plugins:',
        '  - module: "@embedmq/bridge-webhook"',
        '    options:',
        '      flushTimeoutMs: 2000',
        '      endpoints:',
        '        alarms:',
        `          url: ${receiver.url}`,
        '          events: [message.published, client.connected]',
        '          topics: ["plant/+/alarm"]',
        `          secret: ${SECRET}`,
        '          batch: { maxEvents: 50, maxWaitMs: 0 }',
        '          retry: { maxAttempts: 3 }',
        ''
      ].join('\n'))
      const config = await loadConfig({ file })
      const broker = createBroker({ ...config, logger: new MemoryLogger() })
      await broker.start()
      try {
        const client = await connect(broker.addresses()[0]!.url, { clientId: 'press-7' })
        await client.publishAsync('plant/press-7/alarm', 'overheat', { qos: 1 })
        await eventually(() => receiver.accepted().length === 2, 'both events delivered')
        await client.endAsync()
        assert.deepEqual(receiver.accepted().map(e => [e.type, e.clientId, e.payload]),
          [['client.connected', 'press-7', undefined], ['message.published', 'press-7', 'overheat']])
        for (const req of receiver.requests) assert.ok(verifySignature(req.raw, String(req.headers['x-embedmq-signature']), SECRET))
      } finally {
        await broker.stop()
      }
    } finally {
      await receiver.close()
    }
  })
})
