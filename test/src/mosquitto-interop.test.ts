import assert from 'node:assert/strict'
import { startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { parseSubOutput, pubArgs, runToSuccess, startMosquittoSub, subArgs } from './helpers/mosquitto.js'
import { connectClient, uniqueId, type QoS } from './helpers/mqtt-client.js'

// Mosquitto's CLI clients speak MQTT over TCP only; pairing them with an
// mqtt.js client on the WebSocket listener proves messages cross transports.

const QOS_LEVELS: readonly QoS[] = [0, 1, 2]

describe('interop with the Mosquitto CLI clients (mosquitto_pub / mosquitto_sub over TCP)', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`with an mqtt.js client on ${transport}`, function () {
      for (const qos of QOS_LEVELS) {
        it(`delivers a QoS ${qos} message from mosquitto_pub -q ${qos} to an mqtt.js subscriber`, async function () {
          const tb = await startBroker()
          const subscriber = await connectClient(tb.url(transport))
          await subscriber.client.subscribeAsync('interop/from-mosquitto', { qos: 2 })

          await runToSuccess('mosquitto_pub', pubArgs({
            port: tb.port('tcp'), clientId: uniqueId('mosquitto-pub'), topic: 'interop/from-mosquitto', message: `hello at QoS ${qos}`, qos
          }))

          const [message] = await subscriber.inbox.waitFor(1)
          assert.deepEqual(message, { topic: 'interop/from-mosquitto', payload: `hello at QoS ${qos}`, qos, retain: false })
        })

        it(`delivers a QoS ${qos} message from an mqtt.js publisher to mosquitto_sub -q 2 -C 1 -W 10`, async function () {
          const tb = await startBroker()
          const sub = await startMosquittoSub(tb.broker, { port: tb.port('tcp'), topic: 'interop/to-mosquitto', qos: 2, count: 1, waitSeconds: 10 })
          const publisher = await connectClient(tb.url(transport))

          await publisher.client.publishAsync('interop/to-mosquitto', `hi from mqtt.js at QoS ${qos}`, { qos })

          const result = await sub.result
          assert.equal(result.code, 0, `mosquitto_sub exits 0 after one message; stderr: ${result.stderr}`)
          assert.deepEqual(parseSubOutput(result.stdout), [
            { topic: 'interop/to-mosquitto', qos, retain: false, payload: `hi from mqtt.js at QoS ${qos}` }
          ])
        })
      }

      it('delivers a message retained with mosquitto_pub -r to a later mqtt.js subscriber', async function () {
        const tb = await startBroker()
        await runToSuccess('mosquitto_pub', pubArgs({
          port: tb.port('tcp'), clientId: uniqueId('mosquitto-pub'), topic: 'interop/retained/state', message: 'on', qos: 1, retain: true
        }))

        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('interop/retained/#', { qos: 1 })

        const [message] = await subscriber.inbox.waitFor(1)
        assert.deepEqual(message, { topic: 'interop/retained/state', payload: 'on', qos: 1, retain: true })
      })

      it('delivers a message retained by an mqtt.js publisher to a later mosquitto_sub', async function () {
        const tb = await startBroker()
        const publisher = await connectClient(tb.url(transport))
        await publisher.client.publishAsync('interop/retained/mode', 'eco', { qos: 2, retain: true })

        const result = await runToSuccess('mosquitto_sub', subArgs({
          port: tb.port('tcp'), clientId: uniqueId('mosquitto-sub'), topic: 'interop/retained/#', qos: 2, count: 1, waitSeconds: 10
        }))

        assert.deepEqual(parseSubOutput(result.stdout), [{ topic: 'interop/retained/mode', qos: 2, retain: true, payload: 'eco' }])
      })

      it('clears a retained message when mosquitto_pub -r -n sends an empty one', async function () {
        const tb = await startBroker()
        const publisher = await connectClient(tb.url(transport))
        await publisher.client.publishAsync('interop/retained/alarm', 'ringing', { qos: 1, retain: true })

        await runToSuccess('mosquitto_pub', pubArgs({
          port: tb.port('tcp'), clientId: uniqueId('mosquitto-pub'), topic: 'interop/retained/alarm', message: '', qos: 1, retain: true
        }))

        const stored = []
        for await (const m of tb.broker.retained('interop/retained/#')) stored.push(m)
        assert.deepEqual(stored, [], 'no retained message is stored any more')
        // A subscriber that arrives now gets no retained message: the first thing it sees is a live one.
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('interop/retained/#', { qos: 1 })
        await publisher.client.publishAsync('interop/retained/alarm', 'live', { qos: 1 })
        const [first] = await subscriber.inbox.waitFor(1)
        assert.deepEqual(first, { topic: 'interop/retained/alarm', payload: 'live', qos: 1, retain: false })
      })
    })
  }

  it('carries a QoS 2 message from mosquitto_pub to mosquitto_sub', async function () {
    const tb = await startBroker()
    const sub = await startMosquittoSub(tb.broker, { port: tb.port('tcp'), topic: 'interop/mosquitto/+', qos: 2, count: 1, waitSeconds: 10 })

    await runToSuccess('mosquitto_pub', pubArgs({
      port: tb.port('tcp'), clientId: uniqueId('mosquitto-pub'), topic: 'interop/mosquitto/both', message: 'mosquitto to mosquitto', qos: 2
    }))

    const result = await sub.result
    assert.equal(result.code, 0, `mosquitto_sub exits 0 after one message; stderr: ${result.stderr}`)
    assert.deepEqual(parseSubOutput(result.stdout), [{ topic: 'interop/mosquitto/both', qos: 2, retain: false, payload: 'mosquitto to mosquitto' }])
  })
})
