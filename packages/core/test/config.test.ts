import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBroker, envOverrides, isEmbedmqError, loadConfig, parseConfig, portFromEnv } from '../src/index.js'

async function tempFile (name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'embedmq-config-'))
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

describe('configuration', () => {
  it('fills production defaults for limits and policies', () => {
    const config = parseConfig({})
    assert.equal(config.allowAnonymous, false)
    assert.equal(config.limits.maxPacketSize, 1024 * 1024)
    assert.equal(config.limits.maxConnections, 10_000)
    assert.equal(config.limits.connectTimeoutMs, 10_000)
    assert.equal(config.authorization.onDeniedPublish, 'drop')
    assert.deepEqual(config.listeners, [])
  })

  it('reads a YAML file with listeners and limits', async () => {
    const file = await tempFile('broker.yaml', [
      'allowAnonymous: true',
      'listeners:',
      '  - type: tcp',
      '    port: 1883',
      '  - type: ws',
      '    port: 8083',
      'limits:',
      '  maxPacketSize: 65536'
    ].join('\n'))
    const config = await loadConfig({ file, env: {} })
    assert.equal(config.allowAnonymous, true)
    assert.deepEqual(config.listeners.map(l => [l.type, l.port]), [['tcp', 1883], ['ws', 8083]])
    assert.equal(config.listeners[1]!.type === 'ws' && config.listeners[1]!.path, '/mqtt')
    assert.equal(config.limits.maxPacketSize, 65536)
  })

  it('names the field and the reason when a value has the wrong type', async () => {
    const file = await tempFile('broker.yaml', 'limits:\n  maxPacketSize: "large"\n')
    await assert.rejects(loadConfig({ file, env: {} }), (err: unknown) => {
      assert.ok(isEmbedmqError(err, 'EMBEDMQ_CONFIG_INVALID'))
      assert.match(err.message, /limits\.maxPacketSize: .*expected number/i)
      assert.match(err.message, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      return true
    })
  })

  it('names a misspelt key instead of ignoring it', () => {
    assert.throws(() => parseConfig({ limits: { maxPacketSise: 10 } }), /limits: Unrecognized key: "maxPacketSise"/)
  })

  it('names the listener field that is wrong', () => {
    assert.throws(() => parseConfig({ listeners: [{ type: 'tcp', port: 1883 }, { type: 'tls', port: 8883 }] }), /listeners\.1: a TLS listener needs key/)
    assert.throws(() => parseConfig({ listeners: [{ type: 'udp', port: 1 }] }), /listeners\.0\.type/)
  })

  it('reports a file that is not valid YAML or JSON, and one that cannot be read', async () => {
    const yaml = await tempFile('bad.yaml', 'listeners: [\n')
    await assert.rejects(loadConfig({ file: yaml, env: {} }), /is not valid YAML/)
    const json = await tempFile('bad.json', '{ "allowAnonymous": tru }')
    await assert.rejects(loadConfig({ file: json, env: {} }), /is not valid JSON/)
    await assert.rejects(loadConfig({ file: '/nonexistent/broker.yaml', env: {} }), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_CONFIG_UNREADABLE'))
  })

  it('applies EMBEDMQ_* environment overrides over the file, and explicit overrides over both', async () => {
    const file = await tempFile('broker.json', JSON.stringify({ allowAnonymous: false, limits: { maxConnections: 5 } }))
    const env = { EMBEDMQ_ALLOW_ANONYMOUS: 'true', EMBEDMQ_LIMITS__MAX_CONNECTIONS: '50', EMBEDMQ_LIMITS__MAX_PACKET_SIZE: '4096', HOME: '/root' }
    assert.deepEqual(envOverrides(env), { allowAnonymous: true, limits: { maxConnections: 50, maxPacketSize: 4096 } })
    const config = await loadConfig({ file, env, overrides: { limits: { maxConnections: 7 } } })
    assert.equal(config.allowAnonymous, true)
    assert.equal(config.limits.maxConnections, 7)
    assert.equal(config.limits.maxPacketSize, 4096)
  })

  it('canonicalises allowed origins and refuses entries that are no origin', () => {
    const config = parseConfig({ listeners: [{ type: 'ws', port: 1, allowedOrigins: ['https://App.Example.com:443/', 'http://127.0.0.1:3000'] }] })
    assert.deepEqual(config.listeners[0]!.type === 'ws' && config.listeners[0]!.allowedOrigins, ['https://app.example.com', 'http://127.0.0.1:3000'])
    assert.throws(() => parseConfig({ listeners: [{ type: 'ws', port: 1, allowedOrigins: ['*'] }] }), /listeners\.0\.allowedOrigins\.0: "\*" is not an origin/)
    assert.throws(() => parseConfig({ listeners: [{ type: 'ws', port: 1, allowedOrigins: ['https://app.example.com/login'] }] }), /has a path/)
  })

  it("resolves relative paths in plugin options from the config file's folder (ctx.resolvePath)", async () => {
    const file = await tempFile('broker.yaml', 'allowAnonymous: true\n')
    const config = await loadConfig({ file, env: {} })
    assert.equal(config.baseDir, join(file, '..'))
    let resolved = ''
    const broker = createBroker({ ...config, logLevel: 'silent', plugins: [{ name: 'files', register: ctx => { resolved = ctx.resolvePath('passwd') } }] })
    await broker.start()
    await broker.stop()
    assert.equal(resolved, join(file, '..', 'passwd'))
  })

  it('names an EMBEDMQ_* variable that is no setting', () => {
    assert.throws(() => envOverrides({ EMBEDMQ_HOME: '/srv' }), /environment variable EMBEDMQ_HOME does not name a setting/)
  })

  it('resolves plugin modules named in a file from the file\'s folder', async () => {
    const file = await tempFile('broker.yaml', 'plugins:\n  - module: ./plugins/audit.js\n  - module: node:fs\n')
    const config = await loadConfig({ file, env: {} })
    const modules = config.plugins.map(p => 'module' in p ? p.module : p.name)
    assert.equal(modules[0], new URL(`file://${join(file, '..', 'plugins', 'audit.js')}`).href)
    assert.equal(modules[1], 'node:fs')
  })

  it('rejects bad options given to createBroker in code, naming the field', () => {
    assert.throws(() => createBroker({ limits: { maxConnections: 0 } }), /invalid broker options: limits\.maxConnections/)
  })
})

describe('portFromEnv', () => {
  it('reads a port, falls back when unset or empty, and names the variable when it is not a port', () => {
    assert.equal(portFromEnv('PORT', 3000, {}), 3000)
    assert.equal(portFromEnv('PORT', 3000, { PORT: '' }), 3000)
    assert.equal(portFromEnv('PORT', 3000, { PORT: '0' }), 0)
    assert.equal(portFromEnv('MQTT_PORT', 1883, { MQTT_PORT: '18830' }), 18830)
    for (const bad of ['abc', '-1', '65536', '80.5']) {
      assert.throws(() => portFromEnv('MQTT_PORT', 1883, { MQTT_PORT: bad }),
        (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_CONFIG_INVALID') && (err as Error).message === `MQTT_PORT=${bad} is not a port number (0-65535)`)
    }
  })
})
