import assert from 'node:assert/strict'
import { chmod, rename, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isEmbedmqError } from '@embedmq/core'
import { collect, connackCode, connect, eventually, startTestBroker, subackCodes, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { authFile, setPassword, writeFileAtomic, type AuthFilePlugin } from '../src/index.js'
import { ClientBag, closeCounter, passwordFileText, tempDirs, writePasswordFile } from './support.js'

const temp = tempDirs()

// Files change under a running broker: new rules apply to connected clients, nobody is disconnected.

const ACL_V1 = 'user anna\ntopic read sensors/anna/#\n'
const ACL_V2 = 'user anna\ntopic read sensors/anna/#\ntopic read sensors/shared/#\n'

describe('auth-file reloading', function () {
  this.timeout(30_000)
  let dir: string
  let passwordFile: string
  let aclFile: string
  let tb: TestBroker | undefined
  const clients = new ClientBag()

  beforeEach(async () => {
    dir = await temp.make()
    passwordFile = join(dir, 'passwd')
    aclFile = join(dir, 'acl.conf')
    await writePasswordFile(passwordFile, { anna: 'anna-pw' })
    await writeFile(aclFile, ACL_V1)
  })
  afterEach(async () => {
    await clients.closeAll()
    await tb?.stop()
    tb = undefined
  })
  after(() => temp.remove())

  const start = async (plugin: AuthFilePlugin = authFile({ passwordFile, aclFile })): Promise<TestBroker> => {
    tb = await startTestBroker({ plugins: [plugin] })
    return tb
  }
  const annaWithWildcard = async (broker: TestBroker): Promise<mqtt.MqttClient> => {
    const anna = clients.add(await connect(broker.url('tcp'), { username: 'anna', password: 'anna-pw', clientId: 'anna-1' }))
    assert.deepEqual(await subackCodes(anna, ['sensors/#'], 1), [1])
    return anna
  }
  /** Publishes `topics` then a sentinel anna can always read, and returns what anna received up to the sentinel. */
  const deliveredToAnna = async (broker: TestBroker, anna: mqtt.MqttClient, topics: string[]): Promise<string[]> => {
    const received: string[] = []
    const onMessage = (topic: string): void => { received.push(topic) }
    anna.on('message', onMessage)
    try {
      for (const topic of topics) await broker.broker.publish(topic, 'x', { qos: 1 })
      await broker.broker.publish('sensors/anna/sentinel', 'x', { qos: 1 })
      await eventually(() => received.includes('sensors/anna/sentinel'), 'the sentinel to reach anna')
      return received.filter(t => t !== 'sensors/anna/sentinel')
    } finally {
      anna.off('message', onMessage)
    }
  }
  const changedLines = (broker: TestBroker): number => broker.logs.find('info', `ACL file ${aclFile} changed`).length
  /** The rule count of the last (re)load: a file written in place may be read half-written once, then again whole. */
  const ruleCount = (broker: TestBroker): unknown => broker.logs.find('info', `loaded ACL file ${aclFile}`).at(-1)?.fields.rules

  for (const [how, replace] of [
    ['written in place', (file: string, text: string) => writeFile(file, text)],
    ['replaced by rename, as editors and embedmq passwd do', (file: string, text: string) => writeFileAtomic(file, text)]
  ] as const) {
    it(`applies a rewritten ACL file (${how}) to a connected client without reconnecting it`, async () => {
      const broker = await start()
      const anna = await annaWithWildcard(broker)
      const closes = closeCounter(anna)
      assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/a', 'sensors/anna/a']), ['sensors/anna/a'])

      await replace(aclFile, ACL_V2)
      await eventually(() => ruleCount(broker) === 2, 'the ACL file reload')
      assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/b', 'sensors/anna/b']), ['sensors/shared/b', 'sensors/anna/b'])

      await replace(aclFile, ACL_V1)
      await eventually(() => ruleCount(broker) === 1, 'the second reload')
      assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/c', 'sensors/anna/c']), ['sensors/anna/c'], 'a revoked grant stops deliveries at once')

      assert.equal(closes(), 0, 'anna was never disconnected')
      assert.ok(anna.connected)
      assert.deepEqual(broker.broker.clients().map(c => c.id), ['anna-1'])
    })
  }

  it('follows a symlinked file: edits in the target directory and a retargeted link are both seen', async () => {
    const elsewhere = await temp.make()
    const target = join(elsewhere, 'acl.conf')
    await writeFile(target, ACL_V1)
    await unlink(aclFile)
    await symlink(target, aclFile)
    const broker = await start()
    const anna = await annaWithWildcard(broker)

    await writeFileAtomic(target, ACL_V2)
    await eventually(() => ruleCount(broker) === 2, 'the reload after an edit in the target directory')
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/a']), ['sensors/shared/a'])

    const third = await temp.make()
    await writeFile(join(third, 'acl.conf'), 'user anna\ntopic read sensors/anna/#\ntopic read sensors/third/#\ntopic read sensors/x\n')
    const link = join(dir, 'acl.conf.new')
    await symlink(join(third, 'acl.conf'), link)
    await rename(link, aclFile)
    await eventually(() => ruleCount(broker) === 3, 'the reload after the link moved')
    await writeFileAtomic(join(third, 'acl.conf'), ACL_V1)
    await eventually(() => ruleCount(broker) === 1, 'the reload after an edit in the new target directory')
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/b', 'sensors/third/b']), [])
  })

  it('keeps the last good rules when the new file is broken, and logs the file, line and reason', async () => {
    const broker = await start()
    const anna = await annaWithWildcard(broker)
    await writeFile(aclFile, 'user anna\ntopic read sensors/anna/#\ntopic reed sensors/shared/#\n')
    await eventually(() => broker.logs.find('error', 'cannot reload').length > 0, 'an error line about the broken file')
    const [line] = broker.logs.find('error', 'cannot reload')
    assert.ok(line)
    assert.match(line.msg, new RegExp(`ACL file ${aclFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 3: unknown access "reed"`))
    assert.equal(line.fields.file, aclFile)
    assert.equal(line.fields.line, 3)
    assert.equal(line.fields.plugin, 'auth-file')
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/a', 'sensors/anna/a']), ['sensors/anna/a'], 'the old rules still apply')

    // Removing the file is a broken file too: the rules stay.
    await unlink(aclFile)
    await eventually(() => broker.logs.find('error', `ACL file ${aclFile}: does not exist`).length > 0, 'an error line about the missing file')
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/b', 'sensors/anna/b']), ['sensors/anna/b'])

    await writeFile(aclFile, ACL_V2)
    await eventually(() => ruleCount(broker) === 2, 'the reload of the fixed file')
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/c']), ['sensors/shared/c'])
    assert.ok(anna.connected)
  })

  it('reloads on SIGHUP (with watching off), and removes its SIGHUP listener on stop', async () => {
    const before = process.listenerCount('SIGHUP')
    const broker = await start(authFile({ passwordFile, aclFile, watch: false }))
    assert.equal(process.listenerCount('SIGHUP'), before + 1, 'the plugin listens for SIGHUP while running')
    const anna = await annaWithWildcard(broker)
    await writeFile(aclFile, ACL_V2)
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/a']), [], 'not watching: nothing changes until SIGHUP')
    // Safe: the listener above is installed, so the signal cannot take the default action (exit).
    process.kill(process.pid, 'SIGHUP')
    await eventually(() => changedLines(broker) === 1, 'the reload after SIGHUP')
    assert.ok(broker.logs.find('info', 'SIGHUP: reloading').length > 0)
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/b']), ['sensors/shared/b'])
    await clients.closeAll()
    await broker.stop()
    tb = undefined
    assert.equal(process.listenerCount('SIGHUP'), before, 'stop removed the listener')
  })

  it('many brokers share one SIGHUP listener, and each reloads on the signal', async () => {
    const before = process.listenerCount('SIGHUP')
    const brokers = await Promise.all(Array.from({ length: 12 }, () => startTestBroker({ plugins: [authFile({ passwordFile, aclFile, watch: false })] })))
    try {
      assert.equal(process.listenerCount('SIGHUP'), before + 1, 'one listener for twelve brokers (no MaxListeners warning)')
      process.kill(process.pid, 'SIGHUP')
      await eventually(() => brokers.every(b => b.logs.find('info', 'SIGHUP: reloading').length === 1), 'every broker reloads')
    } finally {
      await Promise.all(brokers.map(b => b.stop()))
    }
    assert.equal(process.listenerCount('SIGHUP'), before, 'the last stop removed it')
  })

  it('does not listen for SIGHUP with reloadOnSighup off', async () => {
    const before = process.listenerCount('SIGHUP')
    await start(authFile({ aclFile, reloadOnSighup: false }))
    assert.equal(process.listenerCount('SIGHUP'), before)
  })

  it('reloads on demand with plugin.reload()', async () => {
    const plugin = authFile({ passwordFile, aclFile, watch: false, reloadOnSighup: false })
    const broker = await start(plugin)
    const anna = await annaWithWildcard(broker)
    await writeFile(aclFile, ACL_V2)
    await plugin.reload()
    assert.equal(changedLines(broker), 1)
    assert.deepEqual(await deliveredToAnna(broker, anna, ['sensors/shared/a']), ['sensors/shared/a'])
  })

  it('a changed password applies to new connections; connected clients stay', async () => {
    const broker = await start()
    const url = broker.url('tcp')
    const anna = clients.add(await connect(url, { username: 'anna', password: 'anna-pw', clientId: 'anna-old' }))
    const closes = closeCounter(anna)
    assert.equal(await setPassword(passwordFile, 'anna', 'new-pw'), 'changed')
    await eventually(() => broker.logs.find('info', `password file ${passwordFile} changed`).length > 0, 'the password file reload')
    assert.equal(await connackCode(url, { username: 'anna', password: 'anna-pw' }), 4, 'the old password no longer works')
    assert.equal(await connackCode(url, { username: 'anna', password: 'new-pw' }), 0, 'the new one does')
    // The old connection still works both ways.
    assert.deepEqual(await subackCodes(anna, ['sensors/anna/#'], 1), [1])
    const got = collect(anna, 1)
    await broker.broker.publish('sensors/anna/after', 'x', { qos: 1 })
    assert.deepEqual((await got).map(m => m.topic), ['sensors/anna/after'])
    assert.equal(closes(), 0)

    // Adding a user by hand, the way an editor would (write elsewhere, rename over).
    const next = join(dir, 'passwd.new')
    await writeFile(next, await passwordFileText({ anna: 'new-pw', bob: 'bob-pw' }))
    await rename(next, passwordFile)
    await eventually(() => broker.logs.find('info', 'reloaded password file').some(l => l.fields.users === 2), 'the reload with bob')
    assert.equal(await connackCode(url, { username: 'bob', password: 'bob-pw' }), 0)
  })

  it('a broken password file on reload keeps the users loaded before', async () => {
    const broker = await start()
    await writeFile(passwordFile, `${await passwordFileText({ anna: 'other-pw' })}bob:hunter2\n`)
    await eventually(() => broker.logs.find('error', 'cannot reload').length > 0, 'an error line')
    const [line] = broker.logs.find('error', 'cannot reload')
    assert.match(line?.msg ?? '', /password file .*passwd, line 2: user "bob": it is not a \$scrypt\$ hash \(plain-text passwords are not accepted\)/)
    assert.ok(!(line?.msg ?? '').includes('hunter2'), 'the log never repeats what might be a password')
    assert.equal(await connackCode(broker.url('tcp'), { username: 'anna', password: 'anna-pw' }), 0, 'anna still logs in with the old password')
  })

  it('warns when others can read the password file', async () => {
    await chmod(passwordFile, 0o644)
    const broker = await start()
    await eventually(() => broker.logs.find('warn', 'can be read by other users').length > 0, 'a warn line about the mode')
    const [warning] = broker.logs.find('warn', 'can be read by other users')
    assert.ok(warning, 'a warn line')
    assert.match(warning.msg, /password file .*passwd can be read by other users \(mode 0644\); chmod 600 it/)
  })

  describe('a file that cannot be used at start fails broker.start() with a coded error', () => {
    const cases: Array<[string, () => Promise<Record<string, string>>, RegExp]> = [
      ['an ACL syntax error', async () => { await writeFile(aclFile, 'user anna\nacl read x\n'); return { aclFile } }, /ACL file .*acl\.conf, line 2: unknown directive "acl"/],
      ['a hash in an unknown format', async () => { await writeFile(passwordFile, 'anna:$7$101$c2FsdA==$aGFzaA==\n'); return { passwordFile } }, /password file .*passwd, line 1: user "anna": unknown hash format "\$7\$" \(Mosquitto PBKDF2-SHA512\)/],
      ['a missing password file', async () => ({ passwordFile: join(dir, 'nope') }), /password file .*nope: does not exist/],
      ['a directory as the ACL file', async () => ({ aclFile: dir }), /ACL file .*: is a directory/]
    ]
    for (const [what, setup, message] of cases) {
      it(what, async () => {
        const files = await setup()
        const before = process.listenerCount('SIGHUP')
        await assert.rejects(startTestBroker({ plugins: [authFile(files)] }), (err: unknown) => {
          assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_START_FAILED'), `got ${String(err)}`)
          assert.match(err.message, /^plugin "auth-file" failed during register: /)
          assert.match(err.message, message)
          return true
        })
        assert.equal(process.listenerCount('SIGHUP'), before, 'nothing left listening')
      })
    }

    it('invalid options are refused with EMBEDMQ_PLUGIN_INVALID_OPTIONS', async () => {
      await assert.rejects(startTestBroker({ plugins: [authFile({})] }), (err: unknown) => {
        assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS'))
        assert.match(err.message, /give passwordFile, aclFile or both/)
        return true
      })
      await assert.rejects(startTestBroker({ plugins: [authFile({ aclFile, unknownUser: 'allow' } as never)] }), /unknownUser/)
      await assert.rejects(startTestBroker({ plugins: [authFile({ aclFile, watchFiles: true } as never)] }), /watchFiles/)
    })
  })
})
