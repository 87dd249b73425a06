import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { CliProcess, killAll } from './support/process.js'

// The command line as a user meets it: help, version, usage errors, exit codes.

async function run (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const cli = new CliProcess(args)
  const { code } = await cli.waitForExit()
  return { code, stdout: cli.stdout, stderr: cli.stderr }
}

describe('embedmq command line (spawned)', () => {
  after(killAll)

  it('--help prints usage listing the commands, exit 0', async () => {
    const { code, stdout, stderr } = await run('--help')
    assert.equal(code, 0, stderr)
    assert.match(stdout, /^Usage: embedmq <command>/)
    assert.match(stdout, /^ {2}start /m)
    assert.equal(stderr, '')
  })

  it('start --help (and help start) print the start flags, exit 0', async () => {
    for (const args of [['start', '--help'], ['help', 'start'], ['start', '-h']]) {
      const { code, stdout } = await run(...args)
      assert.equal(code, 0, args.join(' '))
      assert.match(stdout, /^Usage: embedmq start/, args.join(' '))
      for (const flag of ['--config', '--host', '--port', '--ws-port']) assert.ok(stdout.includes(flag), `${args.join(' ')}: mentions ${flag}`)
    }
  })

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    const { code, stdout } = await run('--version')
    assert.equal(code, 0)
    assert.equal(stdout, `${pkg.version}\n`)
  })

  const usageErrors: Array<[string[], RegExp]> = [
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['start', '--frobnicate'], /unknown option '--frobnicate'/],
    [['start', '--port', 'http'], /--port must be a port number/],
    [['start', '--ws-port', '70000'], /--ws-port must be a port number/],
    [['start', '--port'], /--port/],
    [['start', 'extra'], /unexpected argument 'extra'/],
    [['--config', 'x.yaml', 'start'], /unknown option '--config'/]
  ]
  for (const [args, message] of usageErrors) {
    it(`'embedmq ${args.join(' ')}' is a usage error: exit 2, message on stderr`, async () => {
      const { code, stdout, stderr } = await run(...args)
      assert.equal(code, 2, stderr)
      assert.match(stderr, message)
      assert.match(stderr, /Run 'embedmq( start)? --help' for usage/)
      assert.equal(stdout, '')
    })
  }
})
