import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { createBroker, MemoryLogger } from '@embedmq/core'
import { redisPersistence } from '../src/index.js'
import { SHARED_REDIS, deleteKeys, freePort, uniquePrefix } from './support.js'

const fixture = fileURLToPath(new URL('./fixtures/from-config.js', import.meta.url))
const pluginModule = fileURLToPath(new URL('../src/index.js', import.meta.url))

describe('persistence-redis lifecycle', function () {
  this.timeout(30_000)

  it('runs from a broker.yaml plugins entry, stores there, and the process exits by itself after stop()', async () => {
    const keyPrefix = uniquePrefix('yaml')
    const dir = mkdtempSync(join(tmpdir(), 'embedmq-redis-yaml-'))
    try {
      const file = join(dir, 'broker.yaml')
      writeFileSync(file, [
        'allowAnonymous: true',
        'listeners:',
        '  - { type: tcp, host: 127.0.0.1, port: 0 }',
        'plugins:',
        `  - module: ${JSON.stringify(pluginModule)}`,
        `    options: { url: "redis://127.0.0.1:${SHARED_REDIS.port}", keyPrefix: "${keyPrefix}" }`,
        ''
      ].join('\n'))
      const child = spawn(process.execPath, [fixture, file], { stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (c: Buffer) => { output += c.toString() })
      child.stderr.on('data', (c: Buffer) => { output += c.toString() })
      const exit = await new Promise<number | null | 'hung'>(resolve => {
        const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('hung') }, 15_000)
        child.on('exit', code => { clearTimeout(timer); resolve(code) })
      })
      assert.equal(exit, 0, `the process did not exit cleanly (a handle left open?): ${String(exit)}\n${output}`)
      assert.match(output, /stopped/)
      const redis = new Redis(SHARED_REDIS)
      try {
        assert.ok(await redis.hexists(`${keyPrefix}retained`, 'fixture/retained'), 'the retained message is in Redis under the prefix')
      } finally { redis.disconnect() }
    } finally {
      rmSync(dir, { recursive: true, force: true })
      await deleteKeys(keyPrefix)
    }
  })

  it('fails start() with a clear error naming Redis when it cannot be reached, and leaves nothing running', async () => {
    const port = await freePort() // nothing listens there
    const logs = new MemoryLogger()
    const broker = createBroker({
      logger: logs,
      allowAnonymous: true,
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      plugins: [redisPersistence({ host: '127.0.0.1', port, connectTimeoutMs: 500, keyPrefix: uniquePrefix('down') })]
    })
    await assert.rejects(broker.start(), (err: Error) => {
      assert.match(err.message + String((err as { cause?: Error }).cause?.message ?? ''), new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}`))
      return true
    })
    assert.equal(broker.state, 'stopped')
  })

  it('refuses invalid options with the field named', async () => {
    const broker = createBroker({ logger: new MemoryLogger(), plugins: [redisPersistence({ keyPrefix: 'bad*prefix' })] })
    await assert.rejects(broker.start(), /keyPrefix/)
  })
})
