/**
 * The traffic of each scenario, built from generator clients. `prepare`
 * connects and subscribes everything (not measured); `start` begins the
 * traffic; `counters` and `takeLatency` are read at the orchestrator's marks.
 */
import { BENCH_PASSWORD, BENCH_USERNAME, type Endpoint, type LatencySummary, type Workload } from '../protocol.js'
import { summarizeLatency } from '../stats.js'
import { Client } from './client.js'
import { PublishTemplate, puback, publishPacket } from './mqtt.js'

const TIMEOUT_MS = 10_000
const KEEPALIVE_S = 300
/** Writes a pump makes per event-loop turn before yielding, so timers and IPC still run. */
const WRITES_PER_TURN = 16
/** Latency: most messages sent in one 1 ms tick; beyond this a stalled generator skips instead of bursting. */
const MAX_PER_TICK = 100

export interface Run {
  readonly connections: number
  /** Begins the traffic; resolves once it is under way. */
  start (): void | Promise<void>
  counters (): Record<string, number>
  /**
   * Stops the traffic, waits (bounded) until deliveries stop arriving, then
   * closes every connection. The wait matters: aedes' bus recurses once per
   * queued message when a subscriber leaves with a backlog and can overflow
   * the stack (an aedes/mqemitter bug); the bench itself just kills the process.
   */
  stop (): Promise<void>
  /** Latency samples since the previous call, then forgets them. */
  takeLatency? (): LatencySummary
}

let clientSeq = 0

function connect (endpoint: Endpoint, role: string): Promise<Client> {
  return Client.connect(endpoint, {
    clientId: `bench-${process.pid}-${role}-${clientSeq++}`,
    username: BENCH_USERNAME,
    password: BENCH_PASSWORD,
    keepalive: KEEPALIVE_S,
    timeoutMs: TIMEOUT_MS
  })
}

/** Connects `count` clients, at most `concurrency` handshakes at a time. */
async function connectMany (endpoint: Endpoint, role: string, count: number, concurrency: number): Promise<Client[]> {
  const clients: Client[] = []
  let nextIndex = 0
  const worker = async (): Promise<void> => {
    while (nextIndex < count) {
      nextIndex++
      clients.push(await connect(endpoint, role))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return clients
}

/** Resolves once `count()` has not changed for `quietMs`, or after `maxMs`. */
async function settled (count: () => number, quietMs = 50, maxMs = 3000): Promise<void> {
  const deadline = performance.now() + maxMs
  let last = -1
  while (performance.now() < deadline) {
    const now = count()
    if (now === last) return
    last = now
    await new Promise(resolve => setTimeout(resolve, quietMs))
  }
}

async function closeWhenSettled (clients: readonly Client[], count: () => number): Promise<void> {
  await settled(count)
  for (const c of clients) c.close()
}

function disconnected (clients: readonly Client[]): number {
  let n = 0
  for (const c of clients) if (c.closed) n++
  return n
}

/** Sends one pre-encoded batch of QoS 0 publishes over and over, as fast as the socket drains. */
class Pump {
  sent = 0
  #running = false
  readonly #client: Client
  readonly #bytes: Buffer
  readonly #packets: number

  constructor (client: Client, packet: Buffer, batch: number) {
    this.#client = client
    this.#bytes = client.encode(Array.from({ length: batch }, () => packet))
    this.#packets = batch
  }

  start (): void {
    this.#running = true
    this.#run()
  }

  stop (): void {
    this.#running = false
  }

  readonly #run = (): void => {
    for (let i = 0; i < WRITES_PER_TURN; i++) {
      if (!this.#running || this.#client.closed) return
      this.sent += this.#packets
      if (!this.#client.write(this.#bytes)) {
        this.#client.drain(this.#run)
        return
      }
    }
    setImmediate(this.#run)
  }
}

async function fanIn (endpoint: Endpoint, w: Extract<Workload, { kind: 'fan-in' }>): Promise<Run> {
  const sub = await connect(endpoint, 'sub')
  let received = 0
  sub.on({ publish: () => { received++ } })
  await sub.subscribe('bench/fanin/+', 0, TIMEOUT_MS)
  const pubs = await connectMany(endpoint, 'pub', w.publishers, w.publishers)
  const payload = Buffer.alloc(w.payloadBytes, 0x61)
  const pumps = pubs.map((c, i) => new Pump(c, publishPacket(`bench/fanin/${i}`, payload, 0), w.batch))
  const all = [sub, ...pubs]
  return {
    connections: all.length,
    start: () => { for (const p of pumps) p.start() },
    counters: () => ({ received, sent: pumps.reduce((s, p) => s + p.sent, 0), disconnected: disconnected(all) }),
    stop: () => { for (const p of pumps) p.stop(); return closeWhenSettled(all, () => received) }
  }
}

async function fanOut (endpoint: Endpoint, w: Extract<Workload, { kind: 'fan-out' }>): Promise<Run> {
  const subs = await connectMany(endpoint, 'sub', w.subscribers, 25)
  let delivered = 0
  for (const s of subs) {
    s.on({ publish: () => { delivered++ } })
    await s.subscribe('bench/fanout', 0, TIMEOUT_MS)
  }
  const pub = await connect(endpoint, 'pub')
  const pump = new Pump(pub, publishPacket('bench/fanout', Buffer.alloc(w.payloadBytes, 0x61), 0), w.batch)
  const all = [pub, ...subs]
  return {
    connections: all.length,
    start: () => pump.start(),
    counters: () => ({ delivered, published: pump.sent, disconnected: disconnected(all) }),
    stop: () => { pump.stop(); return closeWhenSettled(all, () => delivered) }
  }
}

/** Counts QoS 1 deliveries and acknowledges each, one write per inbound chunk. */
function ackEveryDelivery (sub: Client): { delivered: () => number } {
  let delivered = 0
  let acks: Buffer[] = []
  sub.on({
    publish: (_buf, _start, _end, qos, id) => {
      delivered++
      if (qos > 0) acks.push(puback(id))
    },
    flush: () => {
      if (acks.length === 0) return
      sub.write(sub.encode(acks))
      acks = []
    }
  })
  return { delivered: () => delivered }
}

/** Keeps `window` QoS 1 publishes to `topic` unacknowledged once started; counts the PUBACKs. */
function windowedPublisher (pub: Client, topic: string, window: number, payloadBytes: number): { start: () => void, stop: () => void, acked: () => number } {
  const template = new PublishTemplate(topic, payloadBytes, 1)
  let running = false
  let inflight = 0
  let acked = 0
  let nextId = 1
  const fill = (): void => {
    const batch: Buffer[] = []
    while (inflight < window) {
      batch.push(template.make(nextId))
      nextId = nextId === 65_535 ? 1 : nextId + 1
      inflight++
    }
    if (batch.length > 0) pub.write(pub.encode(batch))
  }
  pub.on({
    puback: () => { inflight--; acked++ },
    flush: () => { if (running) fill() }
  })
  return {
    start: () => { running = true; fill() },
    stop: () => { running = false },
    acked: () => acked
  }
}

/** One publisher keeps `window` QoS 1 publishes unacknowledged; one subscriber at QoS 1 acks each delivery. */
async function qos1 (endpoint: Endpoint, w: Extract<Workload, { kind: 'qos1' }>): Promise<Run> {
  const sub = await connect(endpoint, 'sub')
  const { delivered } = ackEveryDelivery(sub)
  await sub.subscribe('bench/qos1', 1, TIMEOUT_MS)
  const pub = await connect(endpoint, 'pub')
  const publisher = windowedPublisher(pub, 'bench/qos1', w.window, w.payloadBytes)
  const all = [sub, pub]
  return {
    connections: all.length,
    start: publisher.start,
    counters: () => ({ acked: publisher.acked(), delivered: delivered(), disconnected: disconnected(all) }),
    stop: () => { publisher.stop(); return closeWhenSettled(all, delivered) }
  }
}

/**
 * The qos1 traffic with a persistent session (clean=false, QoS 1
 * subscription) as the subscriber, so the persistence is on the path:
 * 'connected' — the subscriber stays and acks, each delivery goes through
 * the session's outgoing (in-flight) state; 'offline' — the subscriber
 * disconnects after subscribing, so every publish is queued for it
 * (enqueue throughput; the PUBACK waits until the message is stored).
 */
async function persistentQos1 (endpoint: Endpoint, w: Extract<Workload, { kind: 'persistent-qos1' }>): Promise<Run> {
  const topic = 'bench/persist'
  const sub = await Client.connect(endpoint, {
    clientId: `bench-${process.pid}-session-${clientSeq++}`,
    username: BENCH_USERNAME,
    password: BENCH_PASSWORD,
    keepalive: KEEPALIVE_S,
    timeoutMs: TIMEOUT_MS,
    clean: false
  })
  const { delivered } = ackEveryDelivery(sub)
  await sub.subscribe(topic, 1, TIMEOUT_MS)
  if (w.subscriber === 'offline') await sub.disconnect(TIMEOUT_MS)
  const pub = await connect(endpoint, 'pub')
  const publisher = windowedPublisher(pub, topic, w.window, w.payloadBytes)
  // An offline subscriber is closed on purpose; only live connections count as disconnected.
  const live = w.subscriber === 'offline' ? [pub] : [sub, pub]
  return {
    connections: live.length,
    start: publisher.start,
    counters: () => ({ acked: publisher.acked(), delivered: delivered(), disconnected: disconnected(live) }),
    stop: () => { publisher.stop(); return closeWhenSettled(live, () => publisher.acked() + delivered()) }
  }
}

/**
 * Publishes at a fixed rate with the send time (performance.now, float64) in
 * the payload; the subscriber is in this same process, so the clocks agree.
 */
async function latency (endpoint: Endpoint, w: Extract<Workload, { kind: 'latency' }>): Promise<Run> {
  const sub = await connect(endpoint, 'sub')
  const samples = new Float64Array(w.maxSamples)
  let count = 0
  let overflow = 0
  let received = 0
  sub.on({
    publish: (buf, start) => {
      received++
      const sentAt = buf.readDoubleLE(start)
      if (count < samples.length) samples[count++] = performance.now() - sentAt
      else overflow++
    }
  })
  await sub.subscribe('bench/latency', 0, TIMEOUT_MS)
  const pub = await connect(endpoint, 'pub')
  const template = new PublishTemplate('bench/latency', Math.max(8, w.payloadBytes), 0)
  let sent = 0
  let skipped = 0
  let t0 = 0
  const tick = (): void => {
    if (pub.closed) return
    let due = Math.floor((performance.now() - t0) * w.ratePerSecond / 1000) - sent
    if (due > MAX_PER_TICK) {
      skipped += due - MAX_PER_TICK
      sent += due - MAX_PER_TICK
      due = MAX_PER_TICK
    }
    if (due <= 0) return
    const batch: Buffer[] = []
    for (let i = 0; i < due; i++) {
      const packet = template.make()
      packet.writeDoubleLE(performance.now(), template.payloadOffset)
      batch.push(packet)
    }
    sent += due
    pub.write(pub.encode(batch))
  }
  const all = [sub, pub]
  let timer: NodeJS.Timeout | undefined
  return {
    connections: all.length,
    start: () => {
      t0 = performance.now()
      timer = setInterval(tick, 1)
    },
    stop: () => { clearInterval(timer); return closeWhenSettled(all, () => received) },
    counters: () => ({ sent, received, skipped, overflow, disconnected: disconnected(all) }),
    takeLatency: () => {
      const summary = summarizeLatency(samples, count)
      count = 0
      return summary
    }
  }
}

/**
 * Connected clients that do nothing: what an idle connection costs the
 * broker. `prepare` opens `warmup` of them so one-time costs (code
 * compilation, first-use pools) land before the baseline; `start` opens the
 * `connections` that are measured.
 */
async function idle (endpoint: Endpoint, w: Extract<Workload, { kind: 'idle' }>): Promise<Run> {
  const clients = await connectMany(endpoint, 'warm', w.warmup, w.concurrency)
  return {
    get connections () { return clients.length },
    start: async () => {
      clients.push(...await connectMany(endpoint, 'idle', w.connections, w.concurrency))
    },
    counters: () => ({ connected: clients.length - disconnected(clients), disconnected: disconnected(clients) }),
    stop: () => closeWhenSettled(clients, () => 0)
  }
}

export function prepare (endpoint: Endpoint, workload: Workload): Promise<Run> {
  switch (workload.kind) {
    case 'fan-in': return fanIn(endpoint, workload)
    case 'fan-out': return fanOut(endpoint, workload)
    case 'qos1': return qos1(endpoint, workload)
    case 'persistent-qos1': return persistentQos1(endpoint, workload)
    case 'latency': return latency(endpoint, workload)
    case 'idle': return idle(endpoint, workload)
  }
}
