import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SHARED_REDIS, deleteKeys, listKeys, uniquePrefix } from './support.js'

const suite = fileURLToPath(new URL('./contract/abstract-suite.js', import.meta.url))

/** Runs a node:test file in a child process; resolves to its exit code and TAP output. */
function runNodeTest (file: string, env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1', file], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`contract suite did not finish within 120 s:\n${output.slice(-4000)}`)) }, 120_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }) })
  })
}

function count (output: string, name: string): number {
  const match = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)
  return match ? Number(match[1]) : NaN
}

describe('aedes-persistence 11 contract suite (abstract.js) on the plugin\'s store and bus', function () {
  this.timeout(150_000)
  const keyPrefix = uniquePrefix('contract')
  after(() => deleteKeys(keyPrefix))

  it('passes every test, leaves no key behind, and exits on its own (no open handles)', async () => {
    const { code, output } = await runNodeTest(suite, { REDIS_PORT: String(SHARED_REDIS.port), KEY_PREFIX: keyPrefix })
    const pass = count(output, 'pass')
    const fail = count(output, 'fail')
    const failures = output.split('\n').filter(l => l.startsWith('not ok')).join('\n')
    assert.equal(fail, 0, `failing contract tests:\n${failures}\n${output.slice(-3000)}`)
    assert.ok(pass > 0, `no test ran:\n${output.slice(-3000)}`)
    assert.equal(code, 0, `exit code ${String(code)}:\n${output.slice(-3000)}`)
    console.log(`      abstract.js: ${pass} passed, ${fail} failed`)
    assert.deepEqual(await listKeys(keyPrefix), [])
  })
})
