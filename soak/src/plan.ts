/**
 * Who does what in a run: the orchestrator builds the whole client mix from
 * the seed, then hands each generator process its share. Every client is
 * described here, so a generator needs no randomness of its own for "who".
 */
import { SeededRandom } from '@embedmq/testing'

export type Transport = 'tcp' | 'ws'
export type QoS = 0 | 1 | 2

export interface PublisherSpec {
  id: string
  transport: Transport
  /** soak/<group>/<publisher>/q<qos>: the stream's identity, one QoS per stream. */
  topic: string
  qos: QoS
  ratePerSec: number
  payloadBytes: number
}

/** A well-behaved subscriber, connected for the whole run (latency is measured on these). */
export interface SubscriberSpec {
  id: string
  transport: Transport
  filter: string
  qos: 1 | 2
}

/** A clean=false session that goes offline and comes back; must get every QoS 1/2 message. */
export interface PersistentSpec extends SubscriberSpec {
  onlineMs: [number, number]
  offlineMs: [number, number]
  /** Share of offline transitions that drop the socket instead of sending DISCONNECT. */
  abruptShare: number
}

/**
 * A subscriber that stops reading its socket. 'stuck' stays frozen until the
 * end with keepalive 0 (nothing on the broker times it out); 'hung' has a
 * keepalive it never honours, so the broker should drop it, and it comes back
 * frozen again after `lifetimeMs`.
 */
export interface SlowSpec {
  id: string
  transport: Transport
  mode: 'stuck' | 'hung'
  filter: string
  qos: 0 | 1
  keepaliveSec: number
  lifetimeMs: number
}

/** Connects, maybe subscribes and publishes a little, leaves (sometimes abruptly, with a will), repeats. */
export interface FlapperSpec {
  id: string
  transport: Transport
  will: boolean
  abruptShare: number
  dwellMs: [number, number]
  pauseMs: [number, number]
  /** A QoS 0 stream to subscribe to while connected, or none. */
  subscribeTopic: string | undefined
}

/** Connected all along, subscribed to a topic nobody publishes to: the many quiet devices. */
export interface IdleSpec {
  id: string
  transport: Transport
  filter: string
}

export interface LoadPlan {
  generator: number
  seed: number
  urls: Record<Transport, string>
  /** Unacknowledged publishes a publisher may have before it skips (keeps the generator bounded). */
  maxOutstanding: number
  publishers: PublisherSpec[]
  subscribers: SubscriberSpec[]
  persistent: PersistentSpec[]
  slow: SlowSpec[]
  flappers: FlapperSpec[]
  idle: IdleSpec[]
}

export type Kind = 'slow' | 'persistent' | 'flapping' | 'idle'
export const KINDS: readonly Kind[] = ['slow', 'persistent', 'flapping', 'idle']

export interface MixOptions {
  clients: number
  rate: number
  seed: number
  generators: number
  /** Client kinds left out (for bisecting what causes a problem). */
  skip: readonly Kind[]
}

export interface Mix {
  publishers: number
  subscribers: number
  persistent: number
  slow: number
  flappers: number
  idle: number
}

export const GROUPS = ['a', 'b', 'c', 'd'] as const

/** Role counts for a client total: shares tuned so ~200 clients give a few thousand deliveries/s per 1000 msg/s. */
export function mixFor (clients: number, skip: readonly Kind[] = []): Mix {
  const publishers = Math.max(3, Math.round(clients * 0.15))
  const subscribers = Math.max(2, Math.round(clients * 0.12))
  const persistent = Math.max(1, Math.round(clients * 0.08))
  const slow = Math.max(1, Math.round(clients * 0.04))
  const flappers = Math.max(1, Math.round(clients * 0.2))
  const idle = Math.max(0, clients - publishers - subscribers - persistent - slow - flappers)
  const keep = (kind: Kind, n: number): number => (skip.includes(kind) ? 0 : n)
  return {
    publishers,
    subscribers,
    persistent: keep('persistent', persistent),
    slow: keep('slow', slow),
    flappers: keep('flapping', flappers),
    idle: keep('idle', idle)
  }
}

const transportOf = (i: number): Transport => (i % 5 < 3 ? 'tcp' : 'ws')
const pad = (i: number): string => String(i).padStart(3, '0')

/**
 * A subscription filter over the publisher streams. Narrow on purpose: the
 * generators must keep up with what they receive, or they become the slow
 * clients themselves (with 200 clients: ~3 deliveries per publish in all).
 */
function filterOf (kind: number, rng: SeededRandom, pubs: readonly PublisherSpec[]): string {
  const pub = rng.pick(pubs)
  const [, group, name, q] = pub.topic.split('/')
  switch (kind % 3) {
    case 0: return `soak/${group ?? 'a'}/+/${q ?? 'q1'}` // one group, one QoS: ~1/12 of traffic
    case 1: return `soak/+/${name ?? 'p000'}/+` // one publisher
    default: return pub.topic // exact
  }
}

export function buildPlans (options: MixOptions, urls: Record<Transport, string>, maxOutstanding = 100): LoadPlan[] {
  const rng = new SeededRandom(options.seed)
  const mix = mixFor(options.clients, options.skip)
  const g = options.generators
  const plans: LoadPlan[] = Array.from({ length: g }, (_, generator) => ({
    generator, seed: options.seed + generator, urls, maxOutstanding,
    publishers: [], subscribers: [], persistent: [], slow: [], flappers: [], idle: []
  }))
  const planFor = (i: number): LoadPlan => plans[i % g]!

  const publishers: PublisherSpec[] = []
  for (let i = 0; i < mix.publishers; i++) {
    const qos = (i % 3) as QoS
    const name = `p${pad(i)}`
    const spec: PublisherSpec = {
      id: `soak-pub-${name}`,
      transport: transportOf(i),
      topic: `soak/${GROUPS[i % GROUPS.length] ?? 'a'}/${name}/q${qos}`,
      qos,
      ratePerSec: options.rate / mix.publishers,
      payloadBytes: rng.range(48, 400)
    }
    publishers.push(spec)
    planFor(i).publishers.push(spec)
  }

  for (let i = 0; i < mix.subscribers; i++) {
    // One subscriber sees everything; the rest take narrower filters so fan-out stays moderate.
    const filter = i === 0 ? 'soak/#' : filterOf(i - 1, rng, publishers)
    planFor(i + 1).subscribers.push({ id: `soak-sub-${pad(i)}`, transport: transportOf(i + 1), filter, qos: i % 2 === 0 ? 2 : 1 })
  }

  for (let i = 0; i < mix.persistent; i++) {
    planFor(i).persistent.push({
      id: `soak-persist-${pad(i)}`,
      transport: transportOf(i + 2),
      filter: filterOf(i, rng, publishers),
      qos: i % 2 === 0 ? 1 : 2,
      onlineMs: [8_000, 25_000],
      offlineMs: [2_000, 10_000],
      abruptShare: 0.3
    })
  }

  for (let i = 0; i < mix.slow; i++) {
    const mode = i % 2 === 0 ? 'stuck' : 'hung'
    planFor(i).slow.push({
      id: `soak-slow-${pad(i)}`,
      transport: i % 4 < 2 ? 'tcp' : 'ws',
      mode,
      filter: 'soak/#',
      qos: (i >> 2) % 2 === 0 ? 1 : 0,
      keepaliveSec: mode === 'stuck' ? 0 : 20,
      lifetimeMs: 40_000
    })
  }

  const qos0Topics = publishers.filter(p => p.qos === 0).map(p => p.topic)
  for (let i = 0; i < mix.flappers; i++) {
    planFor(i).flappers.push({
      id: `soak-flap-${pad(i)}`,
      transport: transportOf(i + 1),
      will: i % 2 === 0,
      abruptShare: 0.4,
      dwellMs: [200, 3_000],
      pauseMs: [100, 1_000],
      subscribeTopic: i % 3 === 0 && qos0Topics.length > 0 ? rng.pick(qos0Topics) : undefined
    })
  }

  for (let i = 0; i < mix.idle; i++) {
    planFor(i).idle.push({ id: `soak-idle-${pad(i)}`, transport: transportOf(i), filter: `soak-idle/${pad(i)}/#` })
  }
  return plans
}
