import { Readable } from 'node:stream'
import type Database from 'better-sqlite3'
import type { Logger } from '@embedmq/core'
import { decodePacket, encodePacket, type StoredPacket } from './codec.js'
import { openDatabase, type Synchronous } from './database.js'
import { wrapPacket, type PacketLike } from './packet.js'
import { createFilterSet, createSubscriptionTrie, type SubscriptionTrie } from './qlobber.js'
import { prefixRange } from './topic.js'

/** A client as the store sees it: only its id matters. */
export interface ClientRef { readonly id: string }

/** A subscription as aedes stores it. */
export interface SubscriptionInput {
  readonly topic: string
  readonly qos: number
  readonly rh?: number
  readonly rap?: boolean
  readonly nl?: boolean
  readonly subscriptionIdentifier?: number
}

/** Who an offline message is queued for. */
export interface QueueTarget { readonly clientId: string }

/** The broker, as `setup(broker)` receives it: its id stamps wills. */
export interface BrokerRef { readonly id: string }

/** Options of the store itself (the plugin validates and fills them in). */
export interface SqlitePersistenceOptions {
  /** The database file (created when missing). */
  readonly file: string
  /** How long opening waits for another process to release the file. Default 5000. */
  readonly busyTimeoutMs?: number
  /** 'full' (default) syncs the WAL on every commit; see the README ("Durability"). */
  readonly synchronous?: Synchronous
  /** Cap on one client's queued messages; beyond it the oldest are dropped. 0 (default): no cap. */
  readonly maxQueuedPerClient?: number
  /** Queued messages older than this are dropped. 0 (default): never. */
  readonly messageExpirySeconds?: number
  /** Where drops are reported. */
  readonly logger?: Pick<Logger, 'warn' | 'error'>
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number
}

const PAGE = 256
/** The longest a sweep for expired messages waits, whatever the expiry. */
const MAX_SWEEP_MS = 60_000

interface OutgoingRow { seq: number, packet: Buffer }
interface TopicRow { topic: string, packet: Buffer }

/**
 * An aedes-persistence 11 store in one SQLite file (better-sqlite3, WAL).
 * Every write is one synchronous SQLite transaction, committed before the
 * returned promise settles: what aedes has been told is stored, is on disk.
 * Subscriptions also live in an in-memory qlobber trie (rebuilt at setup)
 * because `subscriptionsByTopic` runs for every publish.
 */
export class SqlitePersistence {
  readonly #db: Database.Database
  readonly #trie: SubscriptionTrie = createSubscriptionTrie()
  readonly #maxQueued: number
  readonly #expiryMs: number
  readonly #logger: Pick<Logger, 'warn' | 'error'> | undefined
  readonly #now: () => number
  readonly #dropped = new Map<string, number>()
  readonly #s: Statements
  #broker: BrokerRef | undefined
  #sweepTimer: NodeJS.Timeout | undefined
  #destroyed = false

  /** Opens the file now, so a bad file fails here with a SqlitePersistenceError. */
  constructor (options: SqlitePersistenceOptions) {
    this.#db = openDatabase({
      file: options.file,
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      synchronous: options.synchronous ?? 'full'
    })
    this.#maxQueued = options.maxQueuedPerClient ?? 0
    this.#expiryMs = (options.messageExpirySeconds ?? 0) * 1000
    this.#logger = options.logger
    this.#now = options.now ?? Date.now
    this.#s = prepare(this.#db)
  }

  /** The broker given to setup (the contract suite reads it). */
  get broker (): BrokerRef | undefined { return this.#broker }

  async setup (broker: BrokerRef): Promise<void> {
    this.#broker = broker
    for (const row of this.#s.durableSubscriptions.iterate() as Iterable<{ client_id: string, topic: string, record: Buffer }>) {
      const record = decodePacket(row.record)
      this.#trie.add(row.topic, trieEntry(row.client_id, row.topic, record))
    }
    if (this.#expiryMs > 0) {
      this.#sweepTimer = setInterval(() => { this.#sweepExpired() }, Math.min(this.#expiryMs, MAX_SWEEP_MS))
      this.#sweepTimer.unref()
    }
  }

  // --- retained ---------------------------------------------------------

  async storeRetained (packet: PacketLike): Promise<void> {
    const topic = String(packet.topic)
    if (payloadLength(packet.payload) === 0) this.#s.retainedDelete.run(topic)
    else this.#s.retainedUpsert.run(topic, encodePacket({ ...packet }))
  }

  createRetainedStream (pattern: string): Readable {
    return Readable.from(this.#retained([pattern]))
  }

  createRetainedStreamCombi (patterns: string[]): Readable {
    return Readable.from(this.#retained(patterns))
  }

  /** Candidates come from the literal prefix before the first wildcard, in pages; qlobber decides. */
  * #retained (patterns: readonly string[]): Generator<StoredPacket> {
    for (const pattern of patterns) {
      const range = prefixRange(pattern)
      if (range.exact !== undefined) {
        const row = this.#s.retainedGet.get(range.exact) as { packet: Buffer } | undefined
        if (row) yield decodePacket(row.packet)
        continue
      }
      const filter = createFilterSet(pattern)
      if (range.parent !== undefined) {
        const row = this.#s.retainedGet.get(range.parent) as { packet: Buffer } | undefined
        if (row) yield decodePacket(row.packet)
      }
      let rows = (range.from === undefined
        ? this.#s.retainedAll.all(PAGE)
        : this.#s.retainedRangeFirst.all(range.from, range.to, PAGE)) as TopicRow[]
      while (rows.length > 0) {
        for (const row of rows) if (filter.test(row.topic)) yield decodePacket(row.packet)
        if (rows.length < PAGE) break
        const last = (rows.at(-1) as TopicRow).topic
        rows = (range.from === undefined
          ? this.#s.retainedAllAfter.all(last, PAGE)
          : this.#s.retainedRangeAfter.all(last, range.to, PAGE)) as TopicRow[]
      }
    }
  }

  // --- subscriptions ----------------------------------------------------

  async addSubscriptions (client: ClientRef, subs: readonly SubscriptionInput[]): Promise<void> {
    const trieOps: Array<() => void> = []
    this.#db.transaction(() => {
      for (const sub of subs) {
        const previous = this.#s.subscriptionQos.get(client.id, sub.topic) as { qos: number } | undefined
        const record: Record<string, unknown> = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl }
        // As in the in-memory store: the MQTT 5 identifier is kept only when present.
        if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier
        this.#s.subscriptionUpsert.run(client.id, sub.topic, sub.qos, encodePacket(record))
        // QoS 0 subscriptions are restored on reconnect but never queued for, so stay out of the trie.
        if (sub.qos > 0) trieOps.push(() => { this.#trie.add(sub.topic, trieEntry(client.id, sub.topic, record)) })
        else if (previous !== undefined && previous.qos > 0) trieOps.push(() => { this.#trie.remove(sub.topic, { clientId: client.id, topic: sub.topic }) })
      }
    })()
    // The trie follows committed rows only.
    for (const op of trieOps) op()
  }

  async removeSubscriptions (client: ClientRef, topics: readonly string[]): Promise<void> {
    const removed: string[] = []
    this.#db.transaction(() => {
      for (const topic of topics) {
        const previous = this.#s.subscriptionQos.get(client.id, topic) as { qos: number } | undefined
        if (previous === undefined) continue
        this.#s.subscriptionDelete.run(client.id, topic)
        if (previous.qos > 0) removed.push(topic)
      }
    })()
    for (const topic of removed) this.#trie.remove(topic, { clientId: client.id, topic })
  }

  async subscriptionsByClient (client: ClientRef): Promise<Array<Record<string, unknown> & { topic: string }>> {
    const rows = this.#s.subscriptionsOfClient.all(client.id) as Array<{ topic: string, record: Buffer }>
    return rows.map(row => ({ topic: row.topic, ...decodePacket(row.record) }))
  }

  async countOffline (): Promise<{ subsCount: number, clientsCount: number }> {
    const { n } = this.#s.clientsCount.get() as { n: number }
    return { subsCount: this.#trie.subscriptionsCount, clientsCount: n }
  }

  async subscriptionsByTopic (topic: string): Promise<unknown[]> {
    return this.#trie.match(topic)
  }

  async cleanSubscriptions (client: ClientRef): Promise<void> {
    const rows = this.#db.transaction(() => {
      const rows = this.#s.subscriptionsOfClient.all(client.id) as Array<{ topic: string, qos: number }>
      this.#s.subscriptionsDeleteClient.run(client.id)
      return rows
    })()
    for (const row of rows) if (row.qos > 0) this.#trie.remove(row.topic, { clientId: client.id, topic: row.topic })
  }

  getClientList (topic: string): Readable {
    const rows = this.#s.clientsOfTopic.all(topic) as Array<{ client_id: string }>
    return Readable.from(rows.map(r => r.client_id))
  }

  // --- outgoing (offline and in-flight) queues ----------------------------

  async outgoingEnqueue (sub: QueueTarget, packet: PacketLike): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet)
  }

  async outgoingEnqueueCombi (subs: readonly QueueTarget[], packet: PacketLike): Promise<void> {
    const bytes = encodePacket(wrapPacket(packet))
    const now = this.#now()
    const capped: Array<[string, number]> = []
    this.#db.transaction(() => {
      for (const sub of subs) {
        this.#s.outgoingInsert.run(sub.clientId, str(packet.brokerId), num(packet.brokerCounter), null, 'publish', now, bytes)
        if (this.#maxQueued > 0) {
          const { n } = this.#s.outgoingCountPublishes.get(sub.clientId) as { n: number }
          if (n > this.#maxQueued) {
            const dropped = this.#s.outgoingDropOldest.run(sub.clientId, n - this.#maxQueued).changes
            capped.push([sub.clientId, dropped])
          }
        }
      }
    })()
    for (const [clientId, dropped] of capped) this.#reportCapDrop(clientId, dropped)
  }

  /**
   * Same rule as the in-memory store: the first queued packet (in queue
   * order) from the same broker with the same counter gets the messageId;
   * or else the first from another broker with the same messageId is replaced.
   */
  async outgoingUpdate (client: ClientRef, packet: PacketLike): Promise<void> {
    const brokerId = str(packet.brokerId)
    const messageId = num(packet.messageId)
    const sameOrigin = this.#s.outgoingByOrigin.get(client.id, brokerId, num(packet.brokerCounter)) as OutgoingRow | undefined
    const sameId = this.#s.outgoingByMessageIdOtherBroker.get(client.id, messageId, brokerId) as OutgoingRow | undefined
    if (sameOrigin !== undefined && (sameId === undefined || sameOrigin.seq < sameId.seq)) {
      const stored = decodePacket(sameOrigin.packet)
      stored.messageId = packet.messageId
      this.#s.outgoingSetMessageId.run(messageId, encodePacket(stored), sameOrigin.seq)
      return
    }
    if (sameId !== undefined) {
      this.#s.outgoingReplace.run(brokerId, num(packet.brokerCounter), messageId, String(packet.cmd), encodePacket(packet), sameId.seq)
      return
    }
    throw new Error('no such packet')
  }

  async outgoingClearMessageId (client: ClientRef, packet: PacketLike): Promise<StoredPacket | undefined> {
    const row = this.#s.outgoingByMessageId.get(client.id, num(packet.messageId)) as OutgoingRow | undefined
    if (row === undefined) return undefined
    this.#s.outgoingDelete.run(row.seq)
    return decodePacket(row.packet)
  }

  /** The queue as it is now (later additions are not included), read in pages. */
  outgoingStream (client: ClientRef): Readable {
    if (this.#expiryMs > 0) {
      const dropped = this.#s.outgoingExpireClient.run(client.id, this.#now() - this.#expiryMs).changes
      if (dropped > 0) this.#reportExpired(dropped, client.id)
    }
    const { last } = this.#s.outgoingLastSeq.get(client.id) as { last: number | null }
    const s = this.#s
    return Readable.from((function * () {
      if (last === null) return
      let after = 0
      for (;;) {
        const rows = s.outgoingPage.all(client.id, after, last, PAGE) as OutgoingRow[]
        for (const row of rows) yield decodePacket(row.packet)
        if (rows.length < PAGE) return
        after = (rows.at(-1) as OutgoingRow).seq
      }
    })())
  }

  // --- incoming QoS 2 ---------------------------------------------------

  async incomingStorePacket (client: ClientRef, packet: PacketLike): Promise<void> {
    const stored = wrapPacket(packet)
    stored.messageId = packet.messageId
    this.#s.incomingUpsert.run(client.id, num(packet.messageId), encodePacket(stored))
  }

  async incomingGetPacket (client: ClientRef, packet: { messageId?: number }): Promise<StoredPacket> {
    const row = this.#s.incomingGet.get(client.id, num(packet.messageId)) as { packet: Buffer } | undefined
    if (row === undefined) throw new Error('no such packet')
    return decodePacket(row.packet)
  }

  async incomingDelPacket (client: ClientRef, packet: { messageId?: number }): Promise<void> {
    if (this.#s.incomingDelete.run(client.id, num(packet.messageId)).changes === 0) throw new Error('no such packet')
  }

  async cleanIncoming (client: ClientRef): Promise<void> {
    this.#s.incomingDeleteClient.run(client.id)
  }

  // --- wills ------------------------------------------------------------

  async putWill (client: ClientRef, packet: PacketLike): Promise<void> {
    packet.brokerId = this.#broker?.id
    packet.clientId = client.id
    this.#s.willUpsert.run(client.id, str(packet.brokerId), encodePacket(packet))
  }

  async getWill (client: ClientRef): Promise<StoredPacket | undefined> {
    const row = this.#s.willGet.get(client.id) as { packet: Buffer } | undefined
    return row === undefined ? undefined : decodePacket(row.packet)
  }

  async delWill (client: ClientRef): Promise<StoredPacket | undefined> {
    const row = this.#s.willGet.get(client.id) as { packet: Buffer } | undefined
    if (row === undefined) return undefined
    this.#s.willDelete.run(client.id)
    return decodePacket(row.packet)
  }

  /** Wills of brokers not listed in `brokers` (the live ones). */
  streamWill (brokers: Record<string, unknown> = {}): Readable {
    const rows = this.#s.willsAll.all() as Array<{ broker_id: string | null, packet: Buffer }>
    return Readable.from(rows.filter(r => !brokers[r.broker_id ?? '']).map(r => decodePacket(r.packet)))
  }

  // --- lifecycle --------------------------------------------------------

  /** Stops the sweep and closes the file (checkpointing the WAL). Safe to call twice. */
  async destroy (): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    if (this.#sweepTimer) clearInterval(this.#sweepTimer)
    this.#db.close()
  }

  /** Drops queued messages older than the expiry, for every client. */
  #sweepExpired (): void {
    if (this.#destroyed) return
    try {
      const dropped = this.#s.outgoingExpireAll.run(this.#now() - this.#expiryMs).changes
      if (dropped > 0) this.#reportExpired(dropped)
    } catch (err) {
      this.#logger?.error({ err }, 'sqlite persistence: sweeping expired queued messages failed; retrying at the next sweep')
    }
  }

  #reportExpired (dropped: number, clientId?: string): void {
    this.#logger?.warn({ dropped, ...(clientId === undefined ? {} : { clientId }), messageExpirySeconds: this.#expiryMs / 1000 },
      `sqlite persistence: dropped ${dropped} queued message(s) older than messageExpirySeconds`)
  }

  /** One warn line per drop event: the count for this client since start says how bad it is. */
  #reportCapDrop (clientId: string, dropped: number): void {
    const total = (this.#dropped.get(clientId) ?? 0) + dropped
    this.#dropped.set(clientId, total)
    this.#logger?.warn({ clientId, dropped, droppedTotal: total, maxQueuedPerClient: this.#maxQueued },
      `sqlite persistence: offline queue of client ${clientId} is full (maxQueuedPerClient ${this.#maxQueued}); dropped its oldest queued message(s)`)
  }
}

function trieEntry (clientId: string, topic: string, record: Record<string, unknown>): { clientId: string, topic: string, qos: number, rh?: number, rap?: boolean, nl?: boolean } {
  return {
    clientId,
    topic,
    qos: record.qos as number,
    rh: record.rh as number | undefined,
    rap: record.rap as boolean | undefined,
    nl: record.nl as boolean | undefined
  } as { clientId: string, topic: string, qos: number }
}

function payloadLength (payload: unknown): number {
  if (typeof payload === 'string') return payload.length
  if (payload instanceof Uint8Array) return payload.byteLength
  return 0
}

/** SQLite binds null, not undefined. */
function str (value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function num (value: unknown): number | null {
  return typeof value === 'number' ? value : null
}

type Statements = ReturnType<typeof prepare>

function prepare (db: Database.Database) {
  return {
    retainedUpsert: db.prepare('INSERT INTO retained (topic, packet) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET packet = excluded.packet'),
    retainedDelete: db.prepare('DELETE FROM retained WHERE topic = ?'),
    retainedGet: db.prepare('SELECT packet FROM retained WHERE topic = ?'),
    retainedAll: db.prepare('SELECT topic, packet FROM retained ORDER BY topic LIMIT ?'),
    retainedAllAfter: db.prepare('SELECT topic, packet FROM retained WHERE topic > ? ORDER BY topic LIMIT ?'),
    retainedRangeFirst: db.prepare('SELECT topic, packet FROM retained WHERE topic >= ? AND topic < ? ORDER BY topic LIMIT ?'),
    retainedRangeAfter: db.prepare('SELECT topic, packet FROM retained WHERE topic > ? AND topic < ? ORDER BY topic LIMIT ?'),

    durableSubscriptions: db.prepare('SELECT client_id, topic, record FROM subscriptions WHERE qos > 0'),
    subscriptionQos: db.prepare('SELECT qos FROM subscriptions WHERE client_id = ? AND topic = ?'),
    subscriptionUpsert: db.prepare('INSERT INTO subscriptions (client_id, topic, qos, record) VALUES (?, ?, ?, ?) ON CONFLICT (client_id, topic) DO UPDATE SET qos = excluded.qos, record = excluded.record'),
    subscriptionDelete: db.prepare('DELETE FROM subscriptions WHERE client_id = ? AND topic = ?'),
    subscriptionsOfClient: db.prepare('SELECT topic, qos, record FROM subscriptions WHERE client_id = ? ORDER BY topic'),
    subscriptionsDeleteClient: db.prepare('DELETE FROM subscriptions WHERE client_id = ?'),
    clientsCount: db.prepare('SELECT count(DISTINCT client_id) AS n FROM subscriptions'),
    clientsOfTopic: db.prepare('SELECT client_id FROM subscriptions WHERE topic = ? ORDER BY client_id'),

    outgoingInsert: db.prepare('INSERT INTO outgoing (client_id, broker_id, broker_counter, message_id, cmd, enqueued_at, packet) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    outgoingCountPublishes: db.prepare("SELECT count(*) AS n FROM outgoing WHERE client_id = ? AND cmd = 'publish'"),
    outgoingDropOldest: db.prepare("DELETE FROM outgoing WHERE seq IN (SELECT seq FROM outgoing WHERE client_id = ? AND cmd = 'publish' ORDER BY seq LIMIT ?)"),
    outgoingByOrigin: db.prepare('SELECT seq, packet FROM outgoing WHERE client_id = ? AND broker_id IS ? AND broker_counter IS ? ORDER BY seq LIMIT 1'),
    outgoingByMessageIdOtherBroker: db.prepare('SELECT seq, packet FROM outgoing WHERE client_id = ? AND message_id IS ? AND broker_id IS NOT ? ORDER BY seq LIMIT 1'),
    outgoingByMessageId: db.prepare('SELECT seq, packet FROM outgoing WHERE client_id = ? AND message_id IS ? ORDER BY seq LIMIT 1'),
    outgoingSetMessageId: db.prepare('UPDATE outgoing SET message_id = ?, packet = ? WHERE seq = ?'),
    outgoingReplace: db.prepare('UPDATE outgoing SET broker_id = ?, broker_counter = ?, message_id = ?, cmd = ?, packet = ? WHERE seq = ?'),
    outgoingDelete: db.prepare('DELETE FROM outgoing WHERE seq = ?'),
    outgoingLastSeq: db.prepare('SELECT max(seq) AS last FROM outgoing WHERE client_id = ?'),
    outgoingPage: db.prepare('SELECT seq, packet FROM outgoing WHERE client_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?'),
    outgoingExpireClient: db.prepare("DELETE FROM outgoing WHERE client_id = ? AND cmd = 'publish' AND enqueued_at < ?"),
    outgoingExpireAll: db.prepare("DELETE FROM outgoing WHERE cmd = 'publish' AND enqueued_at < ?"),

    incomingUpsert: db.prepare('INSERT INTO incoming (client_id, message_id, packet) VALUES (?, ?, ?) ON CONFLICT (client_id, message_id) DO UPDATE SET packet = excluded.packet'),
    incomingGet: db.prepare('SELECT packet FROM incoming WHERE client_id = ? AND message_id IS ?'),
    incomingDelete: db.prepare('DELETE FROM incoming WHERE client_id = ? AND message_id IS ?'),
    incomingDeleteClient: db.prepare('DELETE FROM incoming WHERE client_id = ?'),

    willUpsert: db.prepare('INSERT INTO wills (client_id, broker_id, packet) VALUES (?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET broker_id = excluded.broker_id, packet = excluded.packet'),
    willGet: db.prepare('SELECT packet FROM wills WHERE client_id = ?'),
    willDelete: db.prepare('DELETE FROM wills WHERE client_id = ?'),
    willsAll: db.prepare('SELECT broker_id, packet FROM wills ORDER BY client_id')
  }
}
