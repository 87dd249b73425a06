import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { MqttFramer, PublishTemplate, puback, pubackPacket, publishPacket, subscribePacket } from '../src/load/mqtt.js'
import { FrameReader, FrameWriter, openWebSocket } from '../src/load/websocket.js'

interface Seen { publishes: Array<{ payload: string, qos: number, id: number }>, pubacks: number[], control: string[] }

function framer (): { framer: MqttFramer, seen: Seen } {
  const seen: Seen = { publishes: [], pubacks: [], control: [] }
  return {
    seen,
    framer: new MqttFramer({
      publish: (buf, start, end, qos, id) => { seen.publishes.push({ payload: buf.subarray(start, end).toString(), qos, id }) },
      puback: (id) => { seen.pubacks.push(id) },
      control: (packet) => { seen.control.push(packet.cmd) }
    })
  }
}

describe('generator MQTT framing', () => {
  const stream = Buffer.concat([
    publishPacket('bench/a', Buffer.from('hello'), 0),
    publishPacket('bench/b', Buffer.from('x'.repeat(300)), 1, 77), // two remaining-length bytes
    pubackPacket(513),
    subscribePacket(1, 'bench/#', 0), // a control packet goes to mqtt-packet's parser
    publishPacket('bench/c', Buffer.alloc(0), 0)
  ])

  it('splits packets however the bytes are chunked', () => {
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const { framer: f, seen } = framer()
      for (let at = 0; at < stream.length; at += size) f.push(stream.subarray(at, at + size))
      assert.deepEqual(seen.publishes, [
        { payload: 'hello', qos: 0, id: 0 },
        { payload: 'x'.repeat(300), qos: 1, id: 77 },
        { payload: '', qos: 0, id: 0 }
      ], `chunks of ${size}`)
      assert.deepEqual(seen.pubacks, [513])
      assert.deepEqual(seen.control, ['subscribe'])
    }
  })

  it('builds the same PUBACK bytes as mqtt-packet', () => {
    for (const id of [1, 255, 256, 65_535]) assert.deepEqual(puback(id), pubackPacket(id))
  })

  it('stamps message ids into a copy of the template', () => {
    const t = new PublishTemplate('bench/qos1', 16, 1)
    const a = t.make(1)
    const b = t.make(4242)
    assert.deepEqual(b, publishPacket('bench/qos1', Buffer.alloc(16), 1, 4242))
    assert.deepEqual(a, publishPacket('bench/qos1', Buffer.alloc(16), 1, 1))
  })
})

describe('generator WebSocket client', () => {
  let server: http.Server
  let wss: WebSocketServer
  let port = 0

  before(async () => {
    server = http.createServer()
    // Echo each message back in frames of varied sizes, to cover 7-, 16- and 64-bit lengths.
    wss = new WebSocketServer({ server })
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => { ws.send(data, { binary: true }) })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  after(async () => {
    wss.close()
    await new Promise(resolve => server.close(resolve))
  })

  it('round-trips masked frames through the ws server, streamed in odd chunks', async () => {
    const { socket, head } = await openWebSocket('127.0.0.1', port, '/mqtt', 5000)
    const payloads = [Buffer.from('a'), Buffer.alloc(200, 1), Buffer.alloc(70_000, 2), Buffer.alloc(0), Buffer.from('end')]
    const expected = Buffer.concat(payloads)
    const received: Buffer[] = []
    let total = 0
    const done = new Promise<void>((resolve) => {
      const reader = new FrameReader({
        data: (chunk) => { received.push(Buffer.from(chunk)); total += chunk.length; if (total >= expected.length) resolve() },
        ping: () => undefined,
        close: () => undefined
      })
      // Re-chunk to 5 bytes so headers and payloads straddle chunk boundaries.
      const feed = (chunk: Buffer): void => { for (let i = 0; i < chunk.length; i += 5) reader.push(chunk.subarray(i, i + 5)) }
      if (head.length > 0) feed(head)
      socket.on('data', feed)
    })
    socket.write(new FrameWriter().frames(payloads))
    await done
    assert.deepEqual(Buffer.concat(received), expected)
    socket.destroy()
  })
})
