import assert from 'node:assert/strict'
import { startBroker, TRANSPORTS, type TestBroker, type Transport } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import type { LogLine } from './helpers/logger.js'
import { connectClient, type TestClient } from './helpers/mqtt-client.js'
import { openRaw, openRawWs, publishOfSize, rawConnect, remainingLength } from './helpers/raw.js'
import { within } from './helpers/wait.js'

const MAX_PACKET = 1024

/** Proves the broker still serves: a new publisher's message reaches `subscriber` (subscribed to 'health/#'). */
async function stillServing (tb: TestBroker, transport: Transport, subscriber: TestClient): Promise<void> {
  const publisher = await connectClient(tb.url(transport))
  await publisher.client.publishAsync('health/check', 'still here', { qos: 1 })
  const received = await subscriber.inbox.waitFor(1, 'health/check')
  assert.equal(received[0]?.payload, 'still here')
}

/**
 * A warn line about a refused packet that names the limit and its size (the total, or the declared
 * remaining length). Over WebSocket, a frame far past the limit is refused by ws itself, which does
 * not report the frame's length: there the line names the limit and says it was a WebSocket frame.
 */
function namesSize (total: number, remaining: number) {
  const size = new RegExp(`\\b(${total}|${remaining})\\b|WebSocket frame larger than`)
  return (line: LogLine): boolean => line.level === 'warn' && size.test(line.msg) && line.msg.includes(String(MAX_PACKET))
}

describe('bad input', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      it('closes a connection that sends garbage instead of CONNECT, and keeps serving other clients', async function () {
        const tb = await startBroker()
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('health/#', { qos: 1 })
        const garbage = await openRaw(tb, transport)

        garbage.write(Buffer.from('this is not MQTT\r\n\r\n'))

        await within(garbage.closed, 'the broker to close the connection that sent garbage')
        await stillServing(tb, transport, subscriber)
      })

      it('closes a connected client that sends a malformed packet, and keeps serving other clients', async function () {
        const tb = await startBroker()
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('health/#', { qos: 1 })
        const conn = await openRaw(tb, transport)
        assert.equal((await rawConnect(conn)).returnCode, 0)

        // SUBSCRIBE must have header flags 0b0010 (MQTT-3.8.1-1); 0x80 is malformed.
        conn.write(Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]))

        await within(conn.closed, 'the broker to close the connection that sent a malformed packet')
        await stillServing(tb, transport, subscriber)
      })

      it('accepts a PUBLISH of exactly limits.maxPacketSize bytes', async function () {
        const tb = await startBroker({ limits: { maxPacketSize: MAX_PACKET } })
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('big/#', { qos: 0 })
        const conn = await openRaw(tb, transport)
        await rawConnect(conn)

        conn.write(publishOfSize('big/exact', MAX_PACKET))

        const [message] = await subscriber.inbox.waitFor(1)
        assert.equal(message?.topic, 'big/exact')
        assert.ok(!conn.isClosed, 'the publisher stays connected')
      })

      for (const size of [MAX_PACKET + 1, MAX_PACKET * 4]) {
        it(`refuses a ${size}-byte PUBLISH over limits.maxPacketSize (${MAX_PACKET}): closes the connection, delivers nothing, logs a warning naming the size`, async function () {
          const tb = await startBroker({ limits: { maxPacketSize: MAX_PACKET } })
          const subscriber = await connectClient(tb.url(transport))
          await subscriber.client.subscribeAsync('big/#', { qos: 0 })
          await subscriber.client.subscribeAsync('health/#', { qos: 1 })
          const conn = await openRaw(tb, transport)
          await rawConnect(conn)
          const packet = publishOfSize('big/oversized', size)
          let lengthBytes = 1
          while ((packet[lengthBytes]! & 0x80) !== 0) lengthBytes++

          conn.write(packet)

          await within(conn.closed, `the broker to close the connection that sent a ${size}-byte PUBLISH`)
          await tb.logs.waitForLine(`a warning naming the ${size}-byte packet and the ${MAX_PACKET}-byte limit`, namesSize(size, size - 1 - lengthBytes))
          await stillServing(tb, transport, subscriber)
          assert.deepEqual(subscriber.inbox.on('big/oversized'), [], 'the oversized message is not delivered')
        })
      }

      it('closes a connection whose PUBLISH header declares 100 MB from its first bytes, before any body is sent', async function () {
        const tb = await startBroker({ limits: { maxPacketSize: MAX_PACKET } })
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('health/#', { qos: 1 })
        const conn = await openRaw(tb, transport)
        await rawConnect(conn)
        const declared = 100 * 1024 * 1024
        const length = remainingLength(declared)

        // The fixed header and the first bytes of the variable header (topic length and 3 of its bytes); nothing more is ever sent.
        conn.write(Buffer.concat([Buffer.from([0x30]), length, Buffer.from([0x00, 0x09]), Buffer.from('big')]))

        await within(conn.closed, 'the broker to close the connection after the header alone')
        await tb.logs.waitForLine('a warning naming the declared size', namesSize(1 + length.length + declared, declared))
        await stillServing(tb, transport, subscriber)
      })
    })
  }

  describe('over ws only', function () {
    it('closes a WebSocket that sends a text frame (MQTT-6.0.0-1), and keeps serving other clients', async function () {
      const tb = await startBroker()
      const subscriber = await connectClient(tb.url('ws'))
      await subscriber.client.subscribeAsync('health/#', { qos: 1 })
      const conn = await openRawWs(tb.url('ws'))
      assert.equal((await rawConnect(conn)).returnCode, 0)

      conn.writeText('{"cmd":"publish","topic":"health/check"}')

      await within(conn.closed, 'the broker to close the WebSocket that sent a text frame')
      await stillServing(tb, 'ws', subscriber)
    })

    it('closes a WebSocket that sends binary garbage, and keeps serving other clients', async function () {
      const tb = await startBroker()
      const subscriber = await connectClient(tb.url('ws'))
      await subscriber.client.subscribeAsync('health/#', { qos: 1 })
      const conn = await openRawWs(tb.url('ws'))

      conn.write(Buffer.from([0x00, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0x7f]))

      await within(conn.closed, 'the broker to close the WebSocket that sent binary garbage')
      await stillServing(tb, 'ws', subscriber)
    })
  })
})
