import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Message } from '@embedmq/core'
import { collect, connackCode, connect, eventually, startTestBroker, subackCodes, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { authFile } from '../src/index.js'
import { ClientBag, tempDirs, writePasswordFile } from './support.js'

const temp = tempDirs()

// What clients see, end to end over TCP and WebSocket with mqtt.js.

const ACL = `# Clients without a username: only what is above the first "user" line (and the patterns).
topic read public/#

user anna
topic write telemetry/anna

user ops
topic readwrite plant/#
topic deny plant/secret/#

user admin
topic readwrite #

user sysadmin
topic read $SYS/#

# Patterns apply to everyone, wherever they are written.
pattern readwrite sensors/%u/#
pattern write devices/%c/status
`

const USERS = { anna: 'anna-pw', bob: 'bob-pw', ops: 'ops-pw', admin: 'admin-pw', sysadmin: 'sys-pw' }

describe('auth-file end to end', function () {
  this.timeout(30_000)
  let passwordFile: string
  let aclFile: string
  const clients = new ClientBag()

  before(async () => {
    const dir = await temp.make()
    passwordFile = join(dir, 'passwd')
    aclFile = join(dir, 'acl.conf')
    await writePasswordFile(passwordFile, USERS)
    await writeFile(aclFile, ACL)
  })
  after(() => temp.remove())
  afterEach(() => clients.closeAll())

  for (const transport of TEST_TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let tb: TestBroker
      /** Everything the broker routed, as an in-process subscriber sees it. */
      let routed: Message[]
      before(async () => {
        tb = await startTestBroker({ plugins: [authFile({ passwordFile, aclFile })] })
        routed = []
        await tb.broker.subscribe('#', (m) => { routed.push(m) })
      })
      after(() => tb.stop())
      beforeEach(() => { routed.length = 0 })

      const login = async (username: keyof typeof USERS, clientId = `${username}-${transport}`): Promise<mqtt.MqttClient> =>
        clients.add(await connect(tb.url(transport), { username, password: USERS[username], clientId }))

      /** Publishes a sentinel after `work` and waits for it: whatever `work` published and was allowed has been routed by then. */
      const settled = async (client: mqtt.MqttClient, sentinelTopic: string): Promise<void> => {
        await client.publishAsync(sentinelTopic, 'sentinel', { qos: 1 })
        await eventually(() => routed.some(m => m.topic === sentinelTopic), `the sentinel on ${sentinelTopic} to be routed`)
      }

      it('lets the right credentials in and refuses a wrong password with CONNACK 4', async () => {
        assert.equal(await connackCode(tb.url(transport), { username: 'anna', password: 'anna-pw' }), 0)
        assert.equal(await connackCode(tb.url(transport), { username: 'anna', password: 'bob-pw' }), 4)
        assert.equal(await connackCode(tb.url(transport), { username: 'anna', password: '' }), 4)
        assert.equal(await connackCode(tb.url(transport), { username: 'anna' }), 4)
        // Not in the file: passed on, and the default (allowAnonymous off) refuses.
        assert.equal(await connackCode(tb.url(transport), { username: 'mallory', password: 'anna-pw' }), 5)
        assert.ok(tb.logs.find('info', 'wrong password for user "anna"').length > 0, 'the refusal is logged with its reason')
      })

      it('delivers allowed publishes and drops denied ones for everyone', async () => {
        const bob = await login('bob')
        assert.deepEqual(await subackCodes(bob, ['sensors/bob/#'], 1), [1])
        const bobGot: string[] = []
        bob.on('message', (topic) => bobGot.push(topic))
        const anna = await login('anna')
        for (const topic of ['sensors/bob/temp', 'plant/line1', 'telemetry/anna', 'sensors/anna/temp', 'public/news']) {
          await anna.publishAsync(topic, 'x', { qos: 1 })
        }
        await settled(anna, 'sensors/anna/sentinel')
        assert.deepEqual(routed.map(m => m.topic), ['telemetry/anna', 'sensors/anna/temp', 'sensors/anna/sentinel'])
        assert.deepEqual(bobGot, [], 'bob received nothing anna was not allowed to publish')
      })

      it('refuses denied subscriptions with SUBACK 0x80, in the same SUBSCRIBE as granted ones', async () => {
        const anna = await login('anna')
        assert.deepEqual(await subackCodes(anna, ['sensors/anna/#', 'sensors/bob/#', 'plant/#', 'telemetry/anna'], 1), [1, 128, 128, 128])
      })

      it('a "#" subscription of a user limited to sensors/%u/# receives only their own topics', async () => {
        const anna = await login('anna')
        assert.deepEqual(await subackCodes(anna, ['#'], 1), [1])
        const got = collect(anna, 3)
        for (const topic of ['sensors/bob/temp', 'sensors/anna/temp', 'plant/line1', 'public/news', 'sensors/annabel/x', 'sensors/anna/rh', 'sensors/anna/end']) {
          await tb.broker.publish(topic, topic, { qos: 1 })
        }
        assert.deepEqual((await got).map(m => m.topic), ['sensors/anna/temp', 'sensors/anna/rh', 'sensors/anna/end'])
      })

      it('retained messages reach a "#" subscriber only where the read ACL opens them', async () => {
        await tb.broker.publish(`sensors/bob/retained-${transport}`, 'theirs', { qos: 1, retain: true })
        await tb.broker.publish(`sensors/anna/retained-${transport}`, 'mine', { qos: 1, retain: true })
        const anna = await login('anna')
        const got = collect(anna, 1)
        assert.deepEqual(await subackCodes(anna, ['#'], 1), [1])
        assert.deepEqual((await got).map(m => m.topic), [`sensors/anna/retained-${transport}`])
        const more = collect(anna, 1)
        await tb.broker.publish('sensors/anna/end', 'x', { qos: 1 })
        assert.deepEqual((await more).map(m => m.topic), ['sensors/anna/end'], 'nothing else arrived before the sentinel')
      })

      it('a will is published only where the client may write', async () => {
        const dropWithWill = async (clientId: string, willTopic: string): Promise<void> => {
          const client = await connect(tb.url(transport), { username: 'anna', password: 'anna-pw', clientId, will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1, retain: false } })
          // Dropping the socket without DISCONNECT makes the broker publish the will.
          client.stream.destroy()
          await eventually(() => tb.broker.clients().every(c => c.id !== clientId), `the broker to see ${clientId} gone`)
          client.end(true)
        }
        await dropWithWill(`anna-will-1-${transport}`, 'sensors/bob/will')
        // The second will is allowed: once it is routed, the first had its chance to be.
        await dropWithWill(`anna-will-2-${transport}`, 'sensors/anna/will')
        await eventually(() => routed.some(m => m.topic === 'sensors/anna/will'), 'the allowed will to be routed')
        assert.deepEqual(routed.map(m => m.topic), ['sensors/anna/will'])
      })

      it('%c patterns grant by client id', async () => {
        const bob = await login('bob', `press-7-${transport}`)
        await bob.publishAsync(`devices/press-7-${transport}/status`, 'up', { qos: 1 })
        await bob.publishAsync(`devices/press-8-${transport}/status`, 'spoofed', { qos: 1 })
        await settled(bob, 'sensors/bob/sentinel')
        assert.deepEqual(routed.map(m => m.topic), [`devices/press-7-${transport}/status`, 'sensors/bob/sentinel'])
      })

      it('a deny rule wins over a grant, for subscriptions, deliveries and publishes', async () => {
        const ops = await login('ops')
        assert.deepEqual(await subackCodes(ops, ['plant/secret/#', 'plant/secret/door', 'plant/#'], 1), [128, 128, 1])
        const got = collect(ops, 2)
        for (const topic of ['plant/secret/door', 'plant/line1', 'plant/secret/vault', 'plant/line2']) await tb.broker.publish(topic, 'x', { qos: 1 })
        assert.deepEqual((await got).map(m => m.topic), ['plant/line1', 'plant/line2'])
        routed.length = 0
        await ops.publishAsync('plant/secret/door', 'open', { qos: 1 })
        await settled(ops, 'plant/sentinel')
        assert.deepEqual(routed.map(m => m.topic), ['plant/sentinel'])
      })

      it('keeps $SYS closed to a "#" grant and opens it only to an explicit $SYS rule', async () => {
        const admin = await login('admin')
        assert.deepEqual(await subackCodes(admin, ['$SYS/#', '$SYS/broker/uptime', '+/broker/uptime', '#'], 0), [128, 128, 0, 0])
        const sysadmin = await login('sysadmin')
        assert.deepEqual(await subackCodes(sysadmin, ['$SYS/#'], 0), [0])
        assert.deepEqual(await subackCodes(sysadmin, ['plant/#'], 0), [128], 'read on $SYS/# opens nothing else')
      })
    })
  }

  describe('clients the password file does not know', () => {
    for (const transport of TEST_TRANSPORTS) {
      it(`over ${transport}: unknownUser "next" lets the default decide, "deny" refuses with CONNACK 5`, async () => {
        const open = await startTestBroker({ allowAnonymous: true, plugins: [authFile({ passwordFile, aclFile })] })
        try {
          assert.equal(await connackCode(open.url(transport), { username: 'mallory', password: 'x' }), 0)
          assert.equal(await connackCode(open.url(transport), { username: 'anna', password: 'x' }), 4, 'a known user with a wrong password is still refused')
        } finally {
          await open.stop()
        }
        const strict = await startTestBroker({ allowAnonymous: true, plugins: [authFile({ passwordFile, aclFile, unknownUser: 'deny' })] })
        try {
          assert.equal(await connackCode(strict.url(transport), { username: 'mallory', password: 'x' }), 5)
          assert.equal(await connackCode(strict.url(transport), { username: 'anna', password: 'anna-pw' }), 0)
          assert.equal(await connackCode(strict.url(transport), {}), 0, 'no username at all: the password file has nothing to say, allowAnonymous decides')
        } finally {
          await strict.stop()
        }
      })

      it(`over ${transport}: a client without a username gets the anonymous section and the %c patterns only`, async () => {
        const tb = await startTestBroker({ allowAnonymous: true, plugins: [authFile({ passwordFile, aclFile })] })
        try {
          const routed: string[] = []
          await tb.broker.subscribe('#', (m) => { routed.push(m.topic) })
          const guest = clients.add(await connect(tb.url(transport), { clientId: 'kiosk-1' }))
          assert.deepEqual(await subackCodes(guest, ['public/#', 'sensors/#', 'sensors/%u/#'], 1), [1, 128, 128])
          await guest.publishAsync('public/news', 'no write grant', { qos: 1 })
          await guest.publishAsync('devices/kiosk-1/status', 'up', { qos: 1 })
          await eventually(() => routed.includes('devices/kiosk-1/status'), 'the %c-granted publish to be routed')
          assert.deepEqual(routed, ['devices/kiosk-1/status'])
        } finally {
          await clients.closeAll()
          await tb.stop()
        }
      })
    }
  })
})
