import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeClients, canBind, connectClient, externalIPv4, freePort, nextMessage, occupyPort, tryConnect } from './support/net.js'
import { CliProcess, killAll } from './support/process.js'

// Real `embedmq start` processes on real sockets. Ports are ephemeral: found free, or 0 read back from the log.

const WARN = 40

describe('embedmq start (spawned)', () => {
  let dir: string

  before(async () => { dir = await mkdtemp(join(tmpdir(), 'embedmq-cli-')) })
  afterEach(async () => {
    await closeClients()
    await killAll()
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  async function configFile (name: string, yaml: string): Promise<string> {
    const path = join(dir, name)
    await writeFile(path, yaml)
    return path
  }

  it('accepts clients on TCP and on ws://…/mqtt and routes messages between them', async () => {
    const [port, wsPort] = [await freePort(), await freePort()]
    const cli = new CliProcess(['start', '--port', String(port), '--ws-port', String(wsPort)])
    const urls = await cli.ready()
    assert.deepEqual(urls.sort(), [`mqtt://127.0.0.1:${port}`, `ws://127.0.0.1:${wsPort}/mqtt`].sort())

    const tcp = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: 'tcp-client' })
    const ws = await connectClient(`ws://127.0.0.1:${wsPort}/mqtt`, { clientId: 'ws-client' })
    await ws.subscribeAsync('cli/test/+', { qos: 1 })
    await tcp.subscribeAsync('cli/test/+', { qos: 1 })

    const toWs = nextMessage(ws, 'cli/test/from-tcp')
    await tcp.publishAsync('cli/test/from-tcp', 'hello over ws', { qos: 1 })
    assert.equal(await toWs, 'hello over ws')

    const toTcp = nextMessage(tcp, 'cli/test/from-ws')
    await ws.publishAsync('cli/test/from-ws', 'hello over tcp', { qos: 1 })
    assert.equal(await toTcp, 'hello over tcp')
  })

  it('without a config file, allows anonymous clients on 127.0.0.1 only and says so', async () => {
    const cli = new CliProcess(['start', '--port', '0', '--ws-port', '0'])
    const tcp = await cli.url('mqtt:')
    const ws = await cli.url('ws:')
    assert.equal(tcp.hostname, '127.0.0.1')
    assert.equal(ws.hostname, '127.0.0.1')

    const notice = cli.logs.find(l => l.level === WARN && l.msg.includes('no config file'))
    assert.ok(notice, `expected a warn line about the no-config defaults\n${cli.transcript()}`)
    assert.match(notice.msg, /anonymous clients are allowed/)
    assert.match(notice.msg, /localhost only \(127\.0\.0\.1\)/)

    // Anonymous: no username, no password, let in.
    await connectClient(tcp)
  })

  it('without a config file, cannot be reached on a non-loopback address', async function () {
    const external = externalIPv4()
    if (external === undefined) this.skip() // a machine with loopback only cannot show the difference
    const cli = new CliProcess(['start', '--port', '0', '--ws-port', '0'])
    const tcp = await cli.url('mqtt:')
    const ws = await cli.url('ws:')
    assert.equal(await tryConnect(Number(tcp.port), '127.0.0.1'), 'connected')
    assert.equal(await tryConnect(Number(tcp.port), external), 'ECONNREFUSED')
    assert.equal(await tryConnect(Number(ws.port), external), 'ECONNREFUSED')
  })

  it('uses the config file, with --port overriding its tcp listener and --ws-port adding a ws listener', async () => {
    const filePort = await freePort()
    const file = await configFile('flags.yaml', [
      'allowAnonymous: true',
      'listeners:',
      `  - { type: tcp, name: main, host: 127.0.0.1, port: ${filePort} }`,
      'limits:',
      '  maxPacketSize: 65536',
      ''
    ].join('\n'))
    const cli = new CliProcess(['start', '--config', file, '--port', '0', '--ws-port', '0'])
    const tcp = await cli.url('mqtt:')
    const ws = await cli.url('ws:')
    assert.notEqual(Number(tcp.port), filePort, 'the --port flag should replace the file\'s port')
    assert.equal(cli.logs.find(l => l.url === tcp.href.replace(/\/$/, ''))?.listener, 'main', 'the file\'s listener keeps its name')
    assert.equal(cli.logs.some(l => l.level === WARN && l.msg.includes('no config file')), false)
    await connectClient(tcp)
    await connectClient(ws)
  })

  it('uses the config file\'s listeners and settings as written when no flag is given', async () => {
    const [port, wsPort] = [await freePort(), await freePort()]
    const file = await configFile('plain.yaml', [
      'allowAnonymous: false',
      'listeners:',
      `  - { type: tcp, host: 127.0.0.1, port: ${port} }`,
      `  - { type: ws, host: 127.0.0.1, port: ${wsPort}, path: /custom }`,
      ''
    ].join('\n'))
    const cli = new CliProcess(['start', '-c', file])
    assert.deepEqual((await cli.ready()).sort(), [`mqtt://127.0.0.1:${port}`, `ws://127.0.0.1:${wsPort}/custom`].sort())
    // allowAnonymous: false from the file, and no authenticator: CONNACK "not authorized".
    await assert.rejects(connectClient(`mqtt://127.0.0.1:${port}`), /Not authorized/i)
  })

  it('--host overrides the file\'s bind address', async function () {
    const external = externalIPv4()
    if (external === undefined) this.skip()
    const file = await configFile('host.yaml', 'allowAnonymous: true\nlisteners:\n  - { type: tcp, host: 0.0.0.0, port: 0 }\n')
    const cli = new CliProcess(['start', '-c', file, '--host', '127.0.0.1'])
    const tcp = await cli.url('mqtt:')
    assert.equal(await tryConnect(Number(tcp.port), external), 'ECONNREFUSED')
    assert.equal(await tryConnect(Number(tcp.port), '127.0.0.1'), 'connected')
  })

  it('applies EMBEDMQ_* environment overrides, and flags win over them', async () => {
    const envPort = await freePort()
    const cli = new CliProcess(['start', '--port', '0', '--ws-port', '0'], {
      env: {
        EMBEDMQ_ALLOW_ANONYMOUS: 'false',
        EMBEDMQ_LISTENERS: JSON.stringify([{ type: 'tcp', host: '127.0.0.1', port: envPort }])
      }
    })
    const tcp = await cli.url('mqtt:')
    assert.notEqual(Number(tcp.port), envPort, '--port should win over EMBEDMQ_LISTENERS')
    assert.ok(cli.logs.some(l => l.level === WARN && l.msg.includes('anonymous clients are refused')), cli.transcript())
    await assert.rejects(connectClient(tcp), /Not authorized/i)
  })

  it('exits 1 with a one-line error naming the port when the port is in use', async () => {
    const held = await occupyPort()
    try {
      const cli = new CliProcess(['start', '--port', String(held.port), '--ws-port', '0'])
      const exit = await cli.waitForExit()
      assert.deepEqual(exit, { code: 1, signal: null }, cli.transcript())
      const lines = cli.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 1, `stderr should be one line\n${cli.transcript()}`)
      assert.ok(lines[0]?.includes(String(held.port)), `stderr should name port ${held.port}\n${cli.transcript()}`)
      assert.match(lines[0] ?? '', /already in use/)
      assert.doesNotMatch(cli.stderr, /\n\s+at /, 'no stack trace')
    } finally {
      await held.close()
    }
  })

  it('exits 1 naming the field when the config file has a value of the wrong type', async () => {
    const file = await configFile('bad.yaml', 'limits:\n  maxPacketSize: "a lot"\n')
    const cli = new CliProcess(['start', '--config', file, '--port', '0', '--ws-port', '0'])
    const exit = await cli.waitForExit()
    assert.deepEqual(exit, { code: 1, signal: null }, cli.transcript())
    const lines = cli.stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, `stderr should be one line\n${cli.transcript()}`)
    assert.match(lines[0] ?? '', /limits\.maxPacketSize/)
    assert.match(lines[0] ?? '', /EMBEDMQ_CONFIG_INVALID/)
    assert.ok(lines[0]?.includes(file), 'names the file')
  })

  it('exits 1 when the config file cannot be read', async () => {
    const cli = new CliProcess(['start', '--config', join(dir, 'missing.yaml')])
    assert.deepEqual(await cli.waitForExit(), { code: 1, signal: null }, cli.transcript())
    assert.match(cli.stderr, /missing\.yaml.*EMBEDMQ_CONFIG_UNREADABLE/)
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops cleanly on ${signal}: exit 0, ports free again`, async () => {
      const cli = new CliProcess(['start', '--port', '0', '--ws-port', '0'])
      const tcp = await cli.url('mqtt:')
      const ws = await cli.url('ws:')
      const client = await connectClient(tcp)
      cli.signal(signal)
      assert.deepEqual(await cli.waitForExit(), { code: 0, signal: null }, cli.transcript())
      assert.ok(cli.logs.some(l => l.msg === 'broker stopped'), cli.transcript())
      assert.equal(await canBind(Number(tcp.port)), true, `tcp port ${tcp.port} should be free after exit`)
      assert.equal(await canBind(Number(ws.port)), true, `ws port ${ws.port} should be free after exit`)
      client.end(true)
    })
  }

  for (const phase of ['start', 'stop'] as const) {
    it(`exits at once on a second signal while a plugin's ${phase} hangs (plugin path relative to the config file)`, async () => {
      await writeFile(join(dir, `stuck-in-${phase}.mjs`), [
        `// A plugin whose ${phase}() never settles: stands in for one stuck on a network call.`,
        'export default () => {',
        '  let log',
        '  const hang = (what) => { log.info(`plugin ${what} hanging`); return new Promise(() => {}) }',
        '  return {',
        `    name: 'stuck-in-${phase}',`,
        '    register (ctx) { log = ctx.logger },',
        `    start () { ${phase === 'start' ? "return hang('start')" : "log.info('plugin started')"} },`,
        `    stop () { ${phase === 'stop' ? "return hang('stop')" : ''} }`,
        '  }',
        '}',
        ''
      ].join('\n'))
      const file = await configFile(`stuck-in-${phase}.yaml`, [
        'allowAnonymous: true',
        'pluginTimeouts: { lifecycleMs: 600000 }',
        'plugins:',
        `  - module: ./stuck-in-${phase}.mjs`,
        ''
      ].join('\n'))
      // Started from another directory: the plugin path must resolve against the config file's folder.
      const cli = new CliProcess(['start', '-c', file, '--port', '0', '--ws-port', '0'], { cwd: tmpdir() })
      if (phase === 'stop') {
        await cli.ready()
        assert.ok(cli.logs.some(l => l.msg === 'plugin started'), cli.transcript())
      } else {
        await cli.waitForLog('the plugin\'s start hanging', l => l.msg === 'plugin start hanging')
      }

      cli.signal('SIGTERM')
      if (phase === 'stop') await cli.waitForLog('the plugin\'s stop hanging', l => l.msg === 'plugin stop hanging')
      else await cli.waitForLog('the first SIGTERM being handled', l => l.msg.startsWith('received SIGTERM: stopping'))
      cli.signal('SIGTERM')
      assert.deepEqual(await cli.waitForExit(), { code: 143, signal: null }, cli.transcript())
    })
  }
})
