import assert from 'node:assert/strict'
import { parseCommandLine, UsageError } from '../src/args.js'
import { usesSharedPersistence } from '../src/commands/workers.js'

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

  it('parses --workers: a count, or 0/auto for one per CPU; refuses --port 0 and --ws-port 0 with it', () => {
    assert.deepEqual(parseCommandLine(['start', '--workers', '3', '--port', '1884']), { kind: 'start', options: { workers: 3, port: 1884 } })
    assert.deepEqual(parseCommandLine(['start', '--workers', '0']), { kind: 'start', options: { workers: 'auto' } })
    assert.deepEqual(parseCommandLine(['start', '--workers=auto']), { kind: 'start', options: { workers: 'auto' } })
    for (const bad of ['-1', 'two', '1.5', '', '257', 'AUTO']) {
      assert.throws(() => parseCommandLine(['start', `--workers=${bad}`]), (err: unknown) => err instanceof UsageError && /--workers must be/.test(err.message), bad)
    }
    for (const flag of ['--port', '--ws-port']) {
      assert.throws(() => parseCommandLine(['start', '--workers', '2', flag, '0']),
        (err: unknown) => err instanceof UsageError && err.message.startsWith(`${flag} 0 cannot be used with --workers`), flag)
    }
  })
})

describe('usesSharedPersistence', () => {
  it('recognises the Redis plugin by module (as written or resolved) or by plugin name, and nothing else', () => {
    assert.equal(usesSharedPersistence({ plugins: [{ module: '@embedmq/persistence-redis' }] }), true)
    assert.equal(usesSharedPersistence({ plugins: [{ module: 'file:///srv/node_modules/@embedmq/persistence-redis/dist/src/index.js' }] }), true)
    assert.equal(usesSharedPersistence({ plugins: [{ name: 'persistence-redis', register: () => undefined }] }), true)
    assert.equal(usesSharedPersistence({ plugins: [] }), false)
    assert.equal(usesSharedPersistence({ plugins: [{ module: '@embedmq/persistence-sqlite' }, { module: '@embedmq/auth-file' }] }), false)
  })
})
