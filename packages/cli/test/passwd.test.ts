import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { authFile } from '@embedmq/auth-file'
import { createBroker, silentLogger, type Broker } from '@embedmq/core'
import mqtt from 'mqtt'
import { parseCommandLine, UsageError } from '../src/args.js'
import { promptHidden, readNewPassword } from '../src/password-input.js'
import { closeClients, connectClient } from './support/net.js'
import { CliProcess, killAll } from './support/process.js'

// embedmq passwd as a user meets it: the password on stdin, never on the command line.

async function passwd (args: string[], stdin?: string | Buffer): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const cli = new CliProcess(['passwd', ...args], stdin === undefined ? {} : { stdin })
  const { code } = await cli.waitForExit()
  return { code, stdout: cli.stdout, stderr: cli.stderr }
}

/** The CONNACK code a login gets (0 when accepted). */
async function connack (url: string, username: string, password: string | Buffer): Promise<number> {
  const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000 })
  try {
    return await new Promise<number>((resolve, reject) => {
      client.once('connect', () => resolve(0))
      client.once('error', (err) => {
        const code = (err as { code?: unknown }).code
        if (typeof code === 'number') resolve(code)
        else reject(err)
      })
    })
  } finally {
    client.end(true)
  }
}

describe('embedmq passwd', function () {
  this.timeout(30_000)
  let dir: string
  let file: string
  const brokers: Broker[] = []
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'embedmq-passwd-'))
    file = join(dir, 'passwd')
  })
  afterEach(async () => {
    await killAll()
    await closeClients()
    await Promise.all(brokers.splice(0).map(b => b.stop()))
    await rm(dir, { recursive: true, force: true })
  })

  /** A broker with @embedmq/auth-file reading `file`, on an ephemeral loopback port. */
  async function brokerFor (passwordFile: string): Promise<string> {
    const broker = createBroker({ logger: silentLogger, listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], plugins: [authFile({ passwordFile })] })
    brokers.push(broker)
    await broker.start()
    const url = broker.addresses()[0]?.url
    assert.ok(url)
    return url
  }

  it('creates the file (mode 0600) with a user the plugin then accepts, from a password on stdin', async () => {
    const { code, stdout, stderr } = await passwd([file, 'anna'], 'correct horse\n')
    assert.equal(code, 0, stderr)
    assert.equal(stdout, `added user "anna" to ${file}\n`)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.match(await readFile(file, 'utf8'), /^anna:\$scrypt\$N=16384,r=8,p=1\$/)

    const url = await brokerFor(file)
    assert.equal(await connack(url, 'anna', 'correct horse'), 0)
    assert.equal(await connack(url, 'anna', 'correct horse\n'), 4, 'the line ending is not part of the password')
    assert.equal(await connack(url, 'anna', 'wrong'), 4)
  })

  it('changes a password (a running broker picks it up) and deletes a user', async () => {
    assert.equal((await passwd([file, 'anna'], 'one\r\n')).code, 0, 'CRLF from a Windows pipe is a line ending')
    assert.equal((await passwd([file, 'bob'], 'bob-pw')).code, 0, 'a last line without a newline is fine')
    const url = await brokerFor(file)
    assert.equal(await connack(url, 'anna', 'one'), 0)

    const changed = await passwd([file, 'anna'], 'two\n')
    assert.equal(changed.code, 0, changed.stderr)
    assert.equal(changed.stdout, `changed the password of user "anna" in ${file}\n`)
    const deadline = Date.now() + 5000
    while (await connack(url, 'anna', 'two') !== 0) {
      assert.ok(Date.now() < deadline, 'the broker reloaded the file within 5 s')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    assert.equal(await connack(url, 'anna', 'one'), 4)

    const deleted = await passwd(['--delete', file, 'anna'])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.equal(deleted.stdout, `deleted user "anna" from ${file}\n`)
    const again = await passwd(['-D', file, 'anna'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /user "anna" is not in /)
    assert.doesNotMatch(await readFile(file, 'utf8'), /^anna:/m)
    assert.match(await readFile(file, 'utf8'), /^bob:/m)
  })

  it('keeps passwords that are not UTF-8 as bytes, up to 65535 of them', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41])
    assert.equal((await passwd([file, 'raw'], Buffer.concat([bytes, Buffer.from('\n')]))).code, 0)
    const long = Buffer.alloc(65535, 'L')
    assert.equal((await passwd([file, 'long'], Buffer.concat([long, Buffer.from('\n')]))).code, 0)
    const url = await brokerFor(file)
    assert.equal(await connack(url, 'raw', bytes), 0)
    assert.equal(await connack(url, 'long', long), 0)
    const tooLong = await passwd([file, 'longer'], Buffer.alloc(65536, 'L'))
    assert.equal(tooLong.code, 1)
    assert.match(tooLong.stderr, /longer than 65535 bytes/)
  })

  const refusals: Array<[string, string[], string | undefined, RegExp]> = [
    ['a username with a colon', ['a:b'], 'pw\n', /contains ':'/],
    ['a username with whitespace', ['a b'], 'pw\n', /contains whitespace/],
    ['an empty username', [''], 'pw\n', /the username is empty/],
    ['an empty password', ['anna'], '\n', /the password is empty/],
    ['no input at all', ['anna'], undefined, /no password on stdin/],
    ['empty input', ['anna'], '', /no password on stdin/]
  ]
  for (const [what, args, stdin, message] of refusals) {
    it(`refuses ${what}: exit 1, one clear line, no file written`, async () => {
      const { code, stdout, stderr } = await passwd([file, ...args], stdin)
      assert.equal(code, 1, stderr)
      assert.equal(stdout, '')
      assert.match(stderr, /^embedmq passwd: /)
      assert.match(stderr, message)
      assert.equal(stderr.split('\n').length, 2, 'one line')
      await assert.rejects(stat(file), { code: 'ENOENT' })
    })
  }

  it('refuses to touch a file it cannot parse, naming the line', async () => {
    const broken = '# users\nanna:plaintext\n'
    await writeFile(file, broken)
    const { code, stderr } = await passwd([file, 'bob'], 'pw\n')
    assert.equal(code, 1)
    assert.match(stderr, /password file .*passwd, line 2: user "anna": it is not a \$scrypt\$ hash .*nothing was changed/)
    assert.equal(await readFile(file, 'utf8'), broken)
  })

  it('never takes the password from the command line, and never echoes one given there', async () => {
    const { code, stderr } = await passwd([file, 'anna', 'hunter2'])
    assert.equal(code, 2)
    assert.match(stderr, /the password is never given on the command line/)
    assert.ok(!stderr.includes('hunter2'))
    for (const args of [[], [file]]) {
      const missing = await passwd(args)
      assert.equal(missing.code, 2)
      assert.match(missing.stderr, /missing <(file> and <)?user>/)
    }
    const flag = await passwd([file, 'anna', '--password', 'hunter2'])
    assert.equal(flag.code, 2)
    assert.match(flag.stderr, /unknown option '--password'/)
  })

  it('a config file can load @embedmq/auth-file for embedmq start', async () => {
    assert.equal((await passwd([file, 'anna'], 'anna-pw\n')).code, 0)
    const config = join(dir, 'broker.json')
    await writeFile(config, JSON.stringify({
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      plugins: [{ module: '@embedmq/auth-file', options: { passwordFile: file } }]
    }))
    const cli = new CliProcess(['start', '--config', config])
    const url = await cli.url('mqtt:')
    assert.equal(await connack(url.href, 'anna', 'anna-pw'), 0)
    assert.equal(await connack(url.href, 'anna', 'nope'), 4)
    await connectClient(url, { username: 'anna', password: 'anna-pw' })
    cli.signal('SIGTERM')
    assert.equal((await cli.waitForExit()).code, 0, cli.transcript())
  })
})

describe('passwd argument parsing', () => {
  it('parses <file> <user> and --delete', () => {
    assert.deepEqual(parseCommandLine(['passwd', 'f', 'anna']), { kind: 'passwd', options: { file: 'f', username: 'anna', delete: false } })
    assert.deepEqual(parseCommandLine(['passwd', '-D', 'f', 'anna']), { kind: 'passwd', options: { file: 'f', username: 'anna', delete: true } })
    assert.deepEqual(parseCommandLine(['passwd', 'f', '--', '-odd']), { kind: 'passwd', options: { file: 'f', username: '-odd', delete: false } })
    assert.deepEqual(parseCommandLine(['passwd', '--help']), { kind: 'help', command: 'passwd' })
    assert.throws(() => parseCommandLine(['passwd', '', 'anna']), (err: unknown) => err instanceof UsageError && err.command === 'passwd')
  })
})

describe('password prompt on a terminal', () => {
  /** A stand-in terminal: records raw-mode switches, lets the test type. */
  function fakeTerminal (): { input: PassThrough & { isTTY: boolean, setRawMode: (m: boolean) => void }, raw: boolean[], prompts: string[], sink: { write: (t: string) => void } } {
    const raw: boolean[] = []
    const prompts: string[] = []
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (mode: boolean) => { raw.push(mode) } })
    return { input, raw, prompts, sink: { write: (t: string) => { prompts.push(t) } } }
  }

  it('turns echo off before the prompt, handles backspace, and restores the terminal', async () => {
    const t = fakeTerminal()
    const answer = promptHidden(t.input, t.sink, 'Password: ')
    assert.deepEqual(t.raw, [true], 'raw mode (no echo) is on as soon as the prompt shows')
    t.input.write('héllox\u007f\r')
    assert.equal(await answer, 'héllo')
    assert.deepEqual(t.raw, [true, false])
    assert.deepEqual(t.prompts, ['Password: ', '\n'], 'nothing typed is written back')
  })

  it('asks twice and refuses a mismatch; Ctrl-C cancels', async () => {
    const t = fakeTerminal()
    const mismatch = readNewPassword(t.input, t.sink)
    t.input.write('one\r')
    await new Promise(resolve => setImmediate(resolve))
    t.input.write('two\r')
    await assert.rejects(mismatch, /the passwords do not match/)
    assert.deepEqual(t.prompts.filter(p => p.endsWith(': ')), ['Password: ', 'Reenter password: '])

    const c = fakeTerminal()
    const cancelled = readNewPassword(c.input, c.sink)
    c.input.write('sec\u0003')
    await assert.rejects(cancelled, (err: Error & { cancelled?: boolean }) => err.cancelled === true)
    assert.deepEqual(c.raw, [true, false], 'the terminal is restored on Ctrl-C')
  })
})
