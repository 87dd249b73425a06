/**
 * The health probe: a well-formed client that connects, subscribes at QoS 1,
 * publishes to itself at QoS 1 and receives its message. If the broker can
 * no longer do that (it died, its event loop is stuck, routing is broken),
 * the fuzzer counts a crash. Each step is bounded by the probe's deadline.
 */
import { generate, parser, type Packet } from 'mqtt-packet'
import type { Target } from './target.js'
import { open, within, type Endpoint, type Transport } from './transport.js'

export interface ProbeResult {
  ok: boolean
  transport: Transport
  ms: number
  /** What went wrong, in words, when not ok. */
  failure?: string
}

let probes = 0

export async function probe (endpoint: Endpoint, transport: Transport, timeoutMs = 5000): Promise<ProbeResult> {
  const started = Date.now()
  const id = `${process.pid}-${++probes}`
  const topic = `fuzz-probe/${id}`
  const payload = Buffer.from(`probe ${id}`)
  const unread: Packet[] = []
  let wake: () => void = () => undefined
  let parseError: string | undefined
  let closed = false
  const incoming = parser({ protocolVersion: 4 })
  incoming.on('packet', (packet: Packet) => { unread.push(packet); wake() })
  incoming.on('error', (err: Error) => { parseError = err.message; wake() })

  const done = (failure?: string): ProbeResult =>
    ({ ok: failure === undefined, transport, ms: Date.now() - started, ...(failure === undefined ? {} : { failure }) })
  const left = (): number => Math.max(0, timeoutMs - (Date.now() - started))

  const conn = await open(transport, endpoint, {
    onData: bytes => incoming.parse(bytes),
    onClose: () => { closed = true; wake() }
  }, Math.min(3000, timeoutMs))
  if (!conn) return done(`could not open a ${transport} connection`)

  /** Takes the first unread packet that `match` accepts, waiting until the deadline. */
  const expect = async (what: string, match: (p: Packet) => boolean): Promise<Packet | string> => {
    for (;;) {
      const i = unread.findIndex(match)
      if (i >= 0) return unread.splice(i, 1)[0]!
      if (parseError !== undefined) return `unparseable bytes from the broker while waiting for ${what}: ${parseError}`
      if (closed) return `the broker closed the connection while the probe waited for ${what}`
      if (left() === 0) return `no ${what} within ${timeoutMs} ms`
      await within(new Promise<void>(resolve => { wake = resolve }), left())
    }
  }

  try {
    await conn.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `fuzz-probe-${id}`, clean: true, keepalive: 30 }))
    const connack = await expect('CONNACK', p => p.cmd === 'connack')
    if (typeof connack === 'string') return done(connack)
    if (connack.cmd === 'connack' && connack.returnCode !== 0) return done(`CONNACK return code ${connack.returnCode}`)

    await conn.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }))
    const suback = await expect('SUBACK', p => p.cmd === 'suback' && p.messageId === 1)
    if (typeof suback === 'string') return done(suback)
    if (suback.cmd === 'suback' && suback.granted[0] !== 1) return done(`SUBACK granted ${JSON.stringify(suback.granted)}, expected [1]`)

    await conn.write(generate({ cmd: 'publish', topic, payload, qos: 1, messageId: 2, retain: false, dup: false }))
    const puback = await expect('PUBACK', p => p.cmd === 'puback' && p.messageId === 2)
    if (typeof puback === 'string') return done(puback)
    const delivery = await expect(`its own message on ${topic}`, p => p.cmd === 'publish' && p.topic === topic)
    if (typeof delivery === 'string') return done(delivery)
    if (delivery.cmd === 'publish') {
      if (!Buffer.from(delivery.payload).equals(payload)) return done('the message came back with a different payload')
      if (delivery.qos !== 1 || delivery.messageId === undefined) return done(`the message came back at QoS ${delivery.qos}, expected 1`)
      await conn.write(generate({ cmd: 'puback', messageId: delivery.messageId }))
    }
    await conn.write(generate({ cmd: 'disconnect' }))
    return done()
  } finally {
    conn.end()
    await within(conn.closed, 500)
    conn.destroy()
  }
}

/**
 * Why the broker is not healthy, or undefined when it is: alive and serving a
 * well-formed client. A failed probe is retried once with twice the deadline
 * (a busy broker is slow, not broken); `onRetry` hears about the first failure.
 */
export async function healthProblem (target: Target, transport: Transport, timeoutMs = 5000, onRetry?: (failure: string) => void): Promise<string | undefined> {
  const died = async (): Promise<string> => {
    await target.settled()
    return `broker process died: ${target.exitDescription() ?? 'unknown'}`
  }
  if (!target.alive()) return died()
  let result = await probe(target.endpoint, transport, timeoutMs)
  if (result.ok) return undefined
  // A dead child refuses connections before its 'exit' event arrives here: give the event a moment.
  await target.settled(500)
  if (!target.alive()) return died()
  onRetry?.(result.failure ?? 'unknown')
  result = await probe(target.endpoint, transport, timeoutMs * 2)
  if (result.ok) return undefined
  await target.settled(500)
  if (!target.alive()) return died()
  return `health probe over ${transport} failed twice: ${result.failure ?? 'unknown'}`
}
