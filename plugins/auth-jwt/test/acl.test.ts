// ACLs from claims, end to end with mqtt.js subscribers: what is delivered, what is refused.
import assert from 'node:assert/strict'
import { capturePlugin, collect, connect, eventually, subackCodes, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import type { ClientContext } from '@embedmq/core'
import type mqtt from 'mqtt'
import { jwtAuth } from '../src/index.js'
import { brokerWith, hs, SECRET } from './helpers.js'

/** The messages a client receives (as topic=payload) up to and including one on `last`, or a failure after 5 s saying what came. */
function until (client: mqtt.MqttClient, last: string): Promise<string[]> {
  const got: string[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { client.off('message', on); reject(new Error(`no message on ${last} within 5 s; got ${got.join(', ')}`)) }, 5000)
    const on = (topic: string, payload: Buffer): void => {
      got.push(`${topic}=${payload.toString()}`)
      if (topic === last) { clearTimeout(timer); client.off('message', on); resolve(got) }
    }
    client.on('message', on)
  })
}

describe('auth-jwt: ACLs from claims', function () {
  this.timeout(20_000)
  let tb: TestBroker | undefined
  const clients: mqtt.MqttClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb?.stop()
    tb = undefined
  })
  const login = async (transport: 'tcp' | 'ws', clientId: string, claims: Record<string, unknown>): Promise<mqtt.MqttClient> => {
    const client = await connect(tb!.url(transport), { clientId, username: String(claims.sub), password: await hs(claims) })
    clients.push(client)
    return client
  }

  for (const transport of TEST_TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('drops denied publishes for every subscriber, refuses denied subscriptions with 0x80, and lets "#" read only granted topics', async () => {
        tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
        const anna = await login(transport, 'anna-1', { sub: 'anna', acl: { pub: ['sensors/%u/#'], sub: ['sensors/%u/#', 'devices/%c/cmd'] } })
        const ops = await login(transport, 'ops-1', { sub: 'ops', acl: { pub: ['sensors/#', 'devices/#'], sub: ['#'] } })

        assert.deepEqual(await subackCodes(ops, ['#'], 1), [1])
        assert.deepEqual(await subackCodes(anna, ['#'], 1), [1], '"#" is granted: deliveries are filtered by the read check')
        assert.deepEqual(await subackCodes(anna, ['sensors/bob/#', 'alarms/+', 'sensors/bob/temp', 'devices/anna-2/cmd'], 1), [128, 128, 128, 128])
        assert.deepEqual(await subackCodes(anna, ['sensors/anna/+/temp', 'devices/anna-1/cmd'], 1), [1, 1])
        await anna.unsubscribeAsync(['sensors/anna/+/temp', 'devices/anna-1/cmd']) // leave "#" alone, so each message arrives once

        const opsGot = until(ops, 'sensors/anna/end')
        const annaGot = until(anna, 'sensors/anna/end')
        await anna.publishAsync('sensors/bob/temp', 'denied', { qos: 1 })
        await anna.publishAsync('alarms/all', 'denied', { qos: 1 })
        await anna.publishAsync('sensors/anna/temp', '21.5', { qos: 1 })
        await ops.publishAsync('sensors/bob/temp', '19', { qos: 1 })
        await ops.publishAsync('devices/anna-1/cmd', 'reboot', { qos: 1 })
        await ops.publishAsync('devices/anna-2/cmd', 'not for anna-1', { qos: 1 })
        await ops.publishAsync('sensors/anna/end', 'sentinel', { qos: 1 })

        assert.deepEqual(await opsGot, ['sensors/anna/temp=21.5', 'sensors/bob/temp=19', 'devices/anna-1/cmd=reboot', 'devices/anna-2/cmd=not for anna-1', 'sensors/anna/end=sentinel'],
          'anna\'s denied publishes reached no one')
        assert.deepEqual(await annaGot, ['sensors/anna/temp=21.5', 'devices/anna-1/cmd=reboot', 'sensors/anna/end=sentinel'],
          'anna\'s "#" delivers only what her grants match')
      })
    })
  }

  it('delivers nothing denied, checked with a sentinel after the denied publishes', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
    const anna = await login('tcp', 'anna-1', { sub: 'anna', acl: { pub: ['sensors/anna/#'], sub: [] } })
    const ops = await login('ws', 'ops-1', { sub: 'ops', acl: { pub: [], sub: ['#'] } })
    await subackCodes(ops, ['#'], 1)
    const got = collect(ops, 1)
    await anna.publishAsync('sensors/bob/temp', 'x', { qos: 1 })
    await anna.publishAsync('sensors/anna', 'parent level is granted by #', { qos: 0 })
    assert.deepEqual((await got).map(m => m.topic), ['sensors/anna'])
    assert.ok(tb.logs.find('info', 'denied publish to "sensors/bob/temp"').length > 0)
  })

  it('keeps retained messages on topics the token does not grant from a "#" subscription', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
    await tb.broker.publish('sensors/bob/temp', 'bob\'s', { qos: 1, retain: true })
    await tb.broker.publish('sensors/anna/temp', 'anna\'s', { qos: 1, retain: true })
    const anna = await login('tcp', 'anna-1', { sub: 'anna', acl: { sub: ['sensors/%u/#'] } })
    const got: string[] = []
    anna.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`))
    await anna.subscribeAsync('#', { qos: 1 })
    // Retained messages follow the SUBACK in no set order: wait until both were decided.
    await eventually(() => got.includes('sensors/anna/temp=anna\'s') &&
      tb!.logs.entries.some(e => e.msg === 'delivery withheld by read authorization' && e.fields.topic === 'sensors/bob/temp'),
    'anna\'s retained message delivered and bob\'s withheld')
    assert.deepEqual(got, ['sensors/anna/temp=anna\'s'])
  })

  it('never lets a client id with wildcards widen a %c grant', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
    const evil = await login('tcp', '+', { sub: 'mallory', acl: { pub: ['devices/%c/#'], sub: ['devices/%c/#'] } })
    assert.deepEqual(await subackCodes(evil, ['devices/+/#', 'devices/anna-1/cmd'], 0), [128, 128])
    assert.ok(tb.logs.find('warn', 'uses %c but the client id contains /, +, # or NUL').length > 0)
  })

  it('defers to the next authorizer when the token has no ACL claims (whenMissing: next), or denies (whenMissing: deny)', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET }, { allowUnmatchedAuthorization: false })
    let plain = await login('tcp', 'plain-1', { sub: 'plain' })
    assert.deepEqual(await subackCodes(plain, ['anything/#']), [128], 'next, then the broker default (here: deny)')
    await tb.stop()
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
    plain = await login('tcp', 'plain-1', { sub: 'plain' })
    assert.deepEqual(await subackCodes(plain, ['anything/#']), [0], 'next, then the broker default (allowUnmatchedAuthorization: true)')
    await tb.stop()
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, acl: { whenMissing: 'deny' } })
    plain = await login('tcp', 'plain-1', { sub: 'plain' })
    assert.deepEqual(await subackCodes(plain, ['anything/#']), [128])
    assert.ok(tb.logs.find('info', 'denied subscription to "anything/#"').some(e => e.fields.reason === 'the token has no ACL claims (acl.whenMissing: deny)'))
  })

  it('with wildcardSubscriptions: covered, grants only subscriptions whose every topic is granted', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, acl: { wildcardSubscriptions: 'covered' } })
    const anna = await login('tcp', 'anna-1', { sub: 'anna', acl: { sub: ['sensors/anna/#'] } })
    assert.deepEqual(await subackCodes(anna, ['#', 'sensors/+/temp', 'sensors/anna/+/temp', 'sensors/anna'], 0), [128, 128, 0, 0])
  })

  it('reads grants from configured claim paths, including namespaced claims with dots', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, acl: { publishClaim: ['https://embedmq.dev/acl', 'publish'], subscribeClaim: 'mqtt.read' } })
    const anna = await login('tcp', 'anna-1', { sub: 'anna', 'https://embedmq.dev/acl': { publish: 'up/%u' }, mqtt: { read: ['down/%u/#'] } })
    assert.deepEqual(await subackCodes(anna, ['down/anna/x', 'up/anna'], 0), [0, 128])
    const got = collect(anna, 1)
    await anna.subscribeAsync('down/anna/#')
    await tb.broker.publish('down/anna/x', 'hi')
    await anna.publishAsync('up/anna', 'ok', { qos: 1 })
    assert.equal((await got)[0]?.topic, 'down/anna/x')
  })

  it('logs ACL entries it cannot use and grants nothing for them', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
    const anna = await login('tcp', 'anna-1', { sub: 'anna', acl: { pub: ['ok/%u', 'bad/#/x', 42], sub: { not: 'a list' } } })
    assert.deepEqual(await subackCodes(anna, ['ok/anna', '#'], 0), [128, 128], 'a sub claim of the wrong type grants nothing (never everything)')
    assert.ok(tb.logs.find('warn', 'entry "bad/#/x" in claim "acl.pub" of client "anna-1" is not a valid topic filter').length > 0)
    assert.ok(tb.logs.find('warn', 'claim "acl.pub" of client "anna-1" has 1 entry that is not a string').length > 0)
    assert.ok(tb.logs.find('warn', 'claim "acl.sub" of client "anna-1" is an object, not a topic filter').length > 0)
  })

  it('answers next for clients another plugin logged in, and odd topics without throwing', async () => {
    const { authenticators, authorizers } = await capturePlugin(jwtAuth({ algorithms: ['HS256'], secret: SECRET }))
    const [authenticator] = authenticators
    const [authorizer] = authorizers
    const other: ClientContext = { clientId: 'x', identity: { roles: [], claims: { acl: { pub: ['#'] } }, authenticatedBy: 'auth-file' }, connectionId: 'c-other', transport: 'tcp', listener: 't' }
    assert.equal(authorizer!.authorizeRead!(other, 'a').outcome, 'next')

    const answer = await authenticator!.authenticate({ clientId: 'anna-1', username: 'anna', password: Buffer.from(await hs({ sub: 'anna', acl: { pub: ['sensors/%u/#'], sub: ['sensors/%u/#', '$SYS/broker/#'] } })), connectionId: 'test-connection', protocolVersion: 4, clean: true, keepalive: 30, transport: 'tcp', listener: 't' })
    assert.equal(answer.outcome, 'allow')
    const identity = answer.outcome === 'allow' ? answer.identity : undefined
    const ours: ClientContext = { clientId: 'anna-1', identity: { roles: [], claims: {}, ...identity, authenticatedBy: 'auth-jwt' }, connectionId: 'c-ours', transport: 'tcp', listener: 't' }
    for (const topic of ['#', '+', '+/+/+', 'a'.repeat(65535), '\u00e9/\u{1F600}/x', '$SYS/broker/uptime', '/', '//', 'sensors/anna/', 'sensors/anna/#']) {
      for (const result of [
        await authorizer!.authorizePublish!(ours, { topic, payload: Buffer.alloc(0), qos: 0, retain: false }),
        await authorizer!.authorizeSubscribe!(ours, { filter: topic, qos: 0 }),
        authorizer!.authorizeRead!(ours, topic)
      ]) assert.ok(['allow', 'deny'].includes(result.outcome))
    }
    assert.equal(authorizer!.authorizeRead!(ours, '$SYS/broker/uptime').outcome, 'allow', '$SYS is readable when a grant names it')
    assert.equal((await authorizer!.authorizeSubscribe!(ours, { filter: '$SYS/#', qos: 0 })).outcome, 'allow', '…and "$SYS/#" overlaps that grant')
    assert.equal(authorizer!.authorizeRead!(ours, '$SYS/other').outcome, 'deny')
  })
})
