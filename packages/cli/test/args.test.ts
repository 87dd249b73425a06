import assert from 'node:assert/strict'
import { parseCommandLine, UsageError } from '../src/args.js'

describe('parseCommandLine', () => {
  it('parses start flags into typed options', () => {
    assert.deepEqual(parseCommandLine(['start', '--config', 'b.yaml', '--host', '0.0.0.0', '--port', '1884', '--ws-port', '0']),
      { kind: 'start', options: { config: 'b.yaml', host: '0.0.0.0', port: 1884, wsPort: 0 } })
    assert.deepEqual(parseCommandLine(['start', '-c', 'b.yaml', '-p', '1']), { kind: 'start', options: { config: 'b.yaml', port: 1 } })
    assert.deepEqual(parseCommandLine(['start', '--port=1885']), { kind: 'start', options: { port: 1885 } })
    assert.deepEqual(parseCommandLine(['start']), { kind: 'start', options: {} })
  })

  it('recognises help and version in their places', () => {
    assert.deepEqual(parseCommandLine(['--help']), { kind: 'help' })
    assert.deepEqual(parseCommandLine(['-h']), { kind: 'help' })
    assert.deepEqual(parseCommandLine(['help']), { kind: 'help' })
    assert.deepEqual(parseCommandLine(['help', 'start']), { kind: 'help', command: 'start' })
    assert.deepEqual(parseCommandLine(['start', '--port', '1', '--help']), { kind: 'help', command: 'start' })
    assert.deepEqual(parseCommandLine(['--version']), { kind: 'version' })
  })

  it('rejects ports that are not plain integers in range', () => {
    for (const bad of ['-1', '65536', '1e3', '0x50', '12.5', '', ' 80']) {
      assert.throws(() => parseCommandLine(['start', `--port=${bad}`]), (err: unknown) => err instanceof UsageError && err.command === 'start', bad)
    }
    assert.equal(parseCommandLine(['start', '--port', '65535']).kind, 'start')
  })

  it('reports usage errors with the command they belong to', () => {
    const cases: Array<[string[], string | undefined]> = [
      [[], undefined], [['nope'], undefined], [['help', 'nope'], undefined], [['--port', '1', 'start'], undefined],
      [['start', '--nope'], 'start'], [['start', 'x'], 'start'], [['start', '--host', ''], 'start'], [['start', '--help=yes'], 'start']
    ]
    for (const [argv, command] of cases) {
      assert.throws(() => parseCommandLine(argv), (err: unknown) => err instanceof UsageError && err.command === command, argv.join(' '))
    }
  })
})
