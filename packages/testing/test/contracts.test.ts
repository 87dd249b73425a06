import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describeAuthenticatorContract, describeAuthorizerContract } from '../src/index.js'
import { ownSensors, staticUsers } from './sample-plugins.js'

describeAuthenticatorContract('static users', {
  plugin: () => staticUsers({ anna: 'correct horse' }),
  accepts: [{ username: 'anna', password: 'correct horse' }],
  rejects: [{ username: 'anna', password: 'wrong', returnCode: 4 }],
  defers: [{ username: 'stranger', password: 'x' }, {}]
})

describeAuthorizerContract('own sensors', {
  plugin: () => ownSensors(),
  client: { clientId: 'anna-1', username: 'anna' },
  publish: { allowed: ['sensors/anna/temp'], denied: ['sensors/bob/temp', 'alarms/all'] },
  subscribe: { allowed: ['sensors/anna/#', '#'], denied: ['sensors/bob/#', 'alarms/+'] },
  read: { filter: '#', visible: ['sensors/anna/temp', 'sensors/anna/hum'], hidden: ['sensors/bob/temp', 'alarms/all'] }
})

describe('the contract kits', () => {
  it('fail for a plugin that breaks the contract (an authorizer that leaks reads)', function () {
    this.timeout(60_000)
    const fixture = fileURLToPath(new URL('./fixtures/leaky.contract.js', import.meta.url))
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve('mocha/bin/mocha.js')), '--no-config', '--exit', '--reporter', 'json', fixture], { encoding: 'utf8' })
    const report = JSON.parse(run.stdout) as { stats: { failures: number }, failures: Array<{ title: string }> }
    assert.notEqual(run.status, 0)
    assert.deepEqual(report.failures.map(f => f.title), ['lets "#" read only what the ACL opens', 'lets "#" read only what the ACL opens'])
  })
})
