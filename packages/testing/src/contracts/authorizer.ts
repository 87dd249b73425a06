import assert from 'node:assert/strict'
import type mqtt from 'mqtt'
import { authenticated, type BrokerOptions, type ClientContext, type Plugin } from '@embedmq/core'
import { startTestBroker, TEST_TRANSPORTS, type TestBroker, type TestTransport } from '../broker.js'
import { collect, connect, eventually, subackCodes } from '../clients.js'
import { capturePlugin } from './capture.js'

/** Who the client under test is. */
export interface TestIdentity {
  clientId: string
  username?: string
  password?: string
  roles?: string[]
  claims?: Record<string, unknown>
  /** Extra mqtt.js options (e.g. WebSocket headers). */
  options?: mqtt.IClientOptions
}

export interface AuthorizerContract {
  /** Builds the plugin under test; called afresh for every test. */
  plugin: () => Plugin | Promise<Plugin>
  /** The client under test. */
  client: TestIdentity
  /**
   * When false (default), the kit adds an authenticator that lets the client in
   * with `username`, `roles` and `claims` as its identity, so only the
   * authorizer is under test. Set true when the plugin authenticates too.
   */
  pluginAuthenticates?: boolean
  publish?: { allowed: string[], denied: string[] }
  subscribe?: { allowed: string[], denied: string[] }
  /** A wildcard filter the client may subscribe to, and which topics it must and must not receive through it. */
  read?: { filter: string, visible: string[], hidden: string[] }
  /** Whether `$SYS/#` must be closed to this client (the default) or open. */
  sys?: 'closed' | 'open'
  transports?: readonly TestTransport[]
  broker?: BrokerOptions
}

/** Lets every client in with the identity the contract names: isolates the authorizer under test. */
function identityPlugin (id: TestIdentity): Plugin {
  return {
    name: 'contract-identity',
    register: (ctx) => ctx.addAuthenticator({
      authenticate: (input) => authenticated({
        ...(input.username === undefined ? {} : { username: input.username }),
        roles: id.roles ?? [],
        claims: id.claims ?? {}
      })
    }, { priority: -1000 })
  }
}

/**
 * The contract every authorizer plugin should pass, run with real MQTT
 * clients over TCP and WebSocket:
 * - allowed publishes are delivered, denied ones are delivered to no one;
 * - allowed subscriptions are granted, denied ones get SUBACK 0x80;
 * - a wildcard subscription receives only the topics the ACL lets it read;
 * - `$SYS/#` is closed unless granted;
 * - odd requests (long, unicode, wildcard-only) never make it throw.
 */
export function describeAuthorizerContract (title: string, contract: AuthorizerContract): void {
  describe(`authorizer contract: ${title}`, function () {
    this.timeout(20_000)
    let tb: TestBroker | undefined
    const clients: mqtt.MqttClient[] = []
    afterEach(async () => {
      await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
      await tb?.stop()
      tb = undefined
    })
    const start = async (): Promise<TestBroker> => {
      const plugins = [await contract.plugin(), ...(contract.pluginAuthenticates ? [] : [identityPlugin(contract.client)])]
      tb = await startTestBroker({ ...contract.broker, plugins })
      return tb
    }
    const login = async (broker: TestBroker, transport: TestTransport): Promise<mqtt.MqttClient> => {
      const c = contract.client
      const client = await connect(broker.url(transport), {
        clientId: c.clientId,
        ...(c.username === undefined ? {} : { username: c.username }),
        ...(c.password === undefined ? {} : { password: c.password }),
        ...c.options
      })
      clients.push(client)
      return client
    }

    for (const transport of contract.transports ?? TEST_TRANSPORTS) {
      describe(`over ${transport}`, () => {
        const publish = contract.publish
        if (publish) {
          it('delivers allowed publishes and no denied one', async () => {
            const broker = await start()
            const seen: string[] = []
            let sentinel = false
            await broker.broker.subscribe('#', m => { if (m.payload.toString() === 'sentinel') sentinel = true; else seen.push(m.topic) })
            const client = await login(broker, transport)
            for (const topic of [...publish.denied, ...publish.allowed]) {
              await client.publishAsync(topic, 'contract', { qos: 1 })
            }
            // One client's publishes are routed in order: once the sentinel arrives, everything before it was routed.
            if (publish.allowed.length > 0) {
              await client.publishAsync(publish.allowed[0]!, 'sentinel', { qos: 1 })
              await eventually(() => sentinel, `the sentinel publish to ${publish.allowed[0]} to be routed`)
            }
            for (const topic of publish.allowed) assert.ok(seen.includes(topic), `allowed publish to ${topic} was not delivered; saw ${JSON.stringify(seen)}`)
            for (const topic of publish.denied) assert.ok(!seen.includes(topic), `denied publish to ${topic} was delivered`)
          })
        }
        const subscribe = contract.subscribe
        if (subscribe) {
          it('grants allowed subscriptions and refuses denied ones with SUBACK 0x80', async () => {
            const broker = await start()
            const client = await login(broker, transport)
            for (const filter of subscribe.allowed) assert.notEqual((await subackCodes(client, [filter]))[0], 128, `subscription to ${filter} should be granted`)
            for (const filter of subscribe.denied) assert.equal((await subackCodes(client, [filter]))[0], 128, `subscription to ${filter} should be refused`)
          })
        }
        const read = contract.read
        if (read) {
          it(`lets "${read.filter}" read only what the ACL opens`, async () => {
            const broker = await start()
            const client = await login(broker, transport)
            assert.notEqual((await subackCodes(client, [read.filter], 1))[0], 128, `subscription to ${read.filter} should be granted`)
            const got = collect(client, read.visible.length)
            for (const topic of [...read.hidden, ...read.visible]) await broker.broker.publish(topic, 'contract', { qos: 1 })
            const received = (await got).map(m => m.topic)
            assert.deepEqual(received.sort(), [...read.visible].sort())
          })
        }
        it(`keeps $SYS/# ${contract.sys ?? 'closed'}`, async () => {
          const broker = await start()
          const client = await login(broker, transport)
          const [code] = await subackCodes(client, ['$SYS/#'])
          if ((contract.sys ?? 'closed') === 'closed') assert.equal(code, 128)
          else assert.notEqual(code, 128)
        })
      })
    }

    it('answers odd requests without throwing', async () => {
      const { authorizers } = await capturePlugin(await contract.plugin())
      assert.ok(authorizers.length > 0, 'the plugin registers at least one authorizer')
      const ctx: ClientContext = {
        clientId: contract.client.clientId,
        connectionId: 'contract-connection',
        identity: { ...(contract.client.username === undefined ? {} : { username: contract.client.username }), roles: contract.client.roles ?? [], claims: contract.client.claims ?? {}, authenticatedBy: 'contract' },
        transport: 'tcp',
        listener: 'contract'
      }
      const topics = ['#', '+', '+/+/+', 'a'.repeat(65535), '\u00e9/\u{1F600}/x', '$SYS/broker/uptime', '/', '//']
      for (const authorizer of authorizers) {
        for (const topic of topics) {
          for (const answer of [
            await authorizer.authorizePublish?.(ctx, { topic, payload: Buffer.alloc(0), qos: 1, retain: false }),
            await authorizer.authorizeSubscribe?.(ctx, { filter: topic, qos: 1 }),
            authorizer.authorizeRead?.(ctx, topic)
          ]) {
            if (answer !== undefined) assert.ok(['allow', 'deny', 'next'].includes(answer.outcome), `answered ${JSON.stringify(answer)} for ${topic.slice(0, 40)}`)
          }
        }
      }
    })
  })
}
