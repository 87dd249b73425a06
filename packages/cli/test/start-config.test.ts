import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isEmbedmqError } from '@embedmq/core'
import { resolveStartConfig, securityNotices } from '../src/commands/start-config.js'

// How flags, EMBEDMQ_* variables, a config file and the no-file defaults combine.

describe('resolveStartConfig', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'embedmq-cli-config-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  async function file (name: string, yaml: string): Promise<string> {
    const path = join(dir, name)
    await writeFile(path, yaml)
    return path
  }

  it('without a file: anonymous allowed, tcp 1883 and ws 8083/mqtt on 127.0.0.1', async () => {
    const { config, file } = await resolveStartConfig({}, {})
    assert.equal(file, undefined)
    assert.equal(config.allowAnonymous, true)
    assert.deepEqual(config.listeners, [
      { type: 'tcp', host: '127.0.0.1', port: 1883, noDelay: false },
      { type: 'ws', host: '127.0.0.1', port: 8083, path: '/mqtt' }
    ])
  })

  it('without a file: flags set ports and host; the environment still applies', async () => {
    const { config } = await resolveStartConfig({ port: 1, wsPort: 2, host: '::1' },
      { EMBEDMQ_ALLOW_ANONYMOUS: 'false', EMBEDMQ_LIMITS__MAX_PACKET_SIZE: '65536' })
    assert.equal(config.allowAnonymous, false)
    assert.equal(config.limits.maxPacketSize, 65536)
    assert.deepEqual(config.listeners.map(l => [l.type, l.host, l.port]), [['tcp', '::1', 1], ['ws', '::1', 2]])
  })

  it('with a file: its listeners and settings, a flag replacing only what it names', async () => {
    const path = await file('a.yaml', [
      'listeners:',
      '  - { type: tcp, port: 1000 }',
      '  - { type: tls, port: 8883, keyFile: k.pem, certFile: c.pem }',
      'limits: { maxConnections: 5 }'
    ].join('\n'))
    const { config } = await resolveStartConfig({ config: path, port: 1001 }, {})
    assert.equal(config.allowAnonymous, false, 'a file keeps the secure default')
    assert.equal(config.limits.maxConnections, 5)
    assert.deepEqual(config.listeners.map(l => [l.type, l.host, l.port]), [['tcp', undefined, 1001], ['tls', undefined, 8883]])
  })

  it('with a file: --ws-port adds a ws listener on 127.0.0.1 when the file has none; --host applies to every listener', async () => {
    const path = await file('b.yaml', 'listeners: [{ type: tcp, port: 1000 }, { type: tls, port: 8883, keyFile: k.pem, certFile: c.pem }]\n')
    const added = await resolveStartConfig({ config: path, wsPort: 9000 }, {})
    assert.deepEqual(added.config.listeners.at(-1), { type: 'ws', host: '127.0.0.1', port: 9000, path: '/mqtt' })
    const hosted = await resolveStartConfig({ config: path, wsPort: 9000, host: '10.0.0.1' }, {})
    assert.deepEqual(hosted.config.listeners.map(l => l.host), ['10.0.0.1', '10.0.0.1', '10.0.0.1'])
  })

  it('with a file that has no listeners: the default ones', async () => {
    const path = await file('c.yaml', 'allowAnonymous: true\n')
    const { config } = await resolveStartConfig({ config: path, port: 0 }, {})
    assert.deepEqual(config.listeners.map(l => [l.type, l.host, l.port]), [['tcp', '127.0.0.1', 0], ['ws', '127.0.0.1', 8083]])
  })

  it('file < environment < flags', async () => {
    const path = await file('d.yaml', 'listeners: [{ type: tcp, port: 1000 }]\nlimits: { maxPacketSize: 1024 }\n')
    const env = { EMBEDMQ_LISTENERS: '[{"type":"tcp","port":2000}]', EMBEDMQ_LIMITS__MAX_PACKET_SIZE: '2048' }
    const fromEnv = await resolveStartConfig({ config: path }, env)
    assert.equal(fromEnv.config.listeners[0]?.port, 2000)
    assert.equal(fromEnv.config.limits.maxPacketSize, 2048)
    const fromFlag = await resolveStartConfig({ config: path, port: 3000 }, env)
    assert.equal(fromFlag.config.listeners[0]?.port, 3000)
  })

  it('refuses to guess which of two tcp listeners --port means', async () => {
    const path = await file('e.yaml', 'listeners: [{ type: tcp, port: 1000, name: a }, { type: tcp, port: 1001, name: b }]\n')
    await assert.rejects(resolveStartConfig({ config: path, port: 1 }, {}),
      (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_CONFIG_INVALID') && /--port is ambiguous.*\(a, b\)/.test(err.message))
    const untouched = await resolveStartConfig({ config: path }, {})
    assert.equal(untouched.config.listeners.length, 2)
  })

  it('names the field of a value with the wrong type', async () => {
    const path = await file('f.yaml', 'listeners: [{ type: tcp, port: "eighty" }]\n')
    await assert.rejects(resolveStartConfig({ config: path }, {}),
      (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_CONFIG_INVALID') && err.message.includes('listeners.0.port'))
  })

  it('resolves relative plugin modules against the config file\'s folder, leaving package names alone', async () => {
    const path = await file('g.yaml', 'plugins: [{ module: ./plugins/auth.js }, { module: some-package, options: { a: 1 } }]\n')
    const { config } = await resolveStartConfig({ config: path }, {})
    assert.deepEqual(config.plugins, [
      { module: pathToFileURL(join(dir, 'plugins', 'auth.js')).href },
      { module: 'some-package', options: { a: 1 } }
    ])
  })
})

describe('securityNotices', () => {
  it('explains the no-file defaults', async () => {
    const notices = securityNotices(await resolveStartConfig({}, {}))
    assert.equal(notices.length, 1)
    assert.match(notices[0] ?? '', /no config file: anonymous clients are allowed, listening on localhost only \(127\.0\.0\.1\)/)
  })

  it('warns about anonymous access on addresses other machines can reach', async () => {
    const exposed = securityNotices(await resolveStartConfig({ host: '0.0.0.0' }, {}))
    assert.equal(exposed.length, 2)
    assert.match(exposed[1] ?? '', /anonymous clients are allowed on listeners other machines may reach \(tcp 0\.0\.0\.0:1883, ws 0\.0\.0\.0:8083\)/)
  })

  it('says nothing for a file with anonymous access off', async () => {
    const config = await resolveStartConfig({}, { EMBEDMQ_ALLOW_ANONYMOUS: 'false' })
    assert.deepEqual(securityNotices({ config: { ...config.config, listeners: [{ type: 'tcp', port: 1883, noDelay: false }] }, file: 'x.yaml' }), [])
  })
})
