import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SUITE = fileURLToPath(new URL('./fixtures/abstract-suite.js', import.meta.url))

interface TapSummary { tests: number, pass: number, fail: number, output: string }

/** Runs the suite in a child `node --test` (it needs node:test, not mocha) and reads its TAP summary. */
function runSuite (): Promise<TapSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', SUITE], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 120_000)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(timer)
      const count = (name: string): number => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN)
      resolve({ tests: count('tests'), pass: count('pass'), fail: count('fail'), output })
    })
  })
}

describe('aedes-persistence abstract.js contract suite (unchanged)', function () {
  this.timeout(150_000)

  it('passes every test, each on a fresh database file', async () => {
    const summary = await runSuite()
    const failures = summary.output.split('\n').filter(l => /^\s*not ok /.test(l)).join('\n')
    assert.ok(summary.tests > 0, `the suite ran no tests:\n${summary.output.slice(-3000)}`)
    assert.equal(summary.fail, 0, `failed:\n${failures}\n${summary.output.slice(-3000)}`)
    assert.equal(summary.pass, summary.tests)
    console.log(`      abstract.js: ${summary.pass}/${summary.tests} passed`)
  })
})
