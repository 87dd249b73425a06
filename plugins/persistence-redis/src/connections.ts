import { readFileSync } from 'node:fs'
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from '@embedmq/core'
import type { RedisPersistenceOptions } from './options.js'

/** What each connection is for: the store's commands, the bus' PUBLISHes, the bus' SUBSCRIBEs. */
export type ConnectionRole = 'store' | 'publish' | 'subscribe'

/** ioredis options common to every connection, from the plugin's options. */
export function ioredisOptions (options: RedisPersistenceOptions, resolvePath: (path: string) => string): RedisOptions {
  const o: RedisOptions = {
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    // Back off to at most 2 s between attempts, forever: the broker keeps trying while it runs.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
    connectTimeout: Math.min(options.connectTimeoutMs, 10_000)
  }
  if (options.host !== undefined) o.host = options.host
  if (options.port !== undefined) o.port = options.port
  if (options.db !== undefined) o.db = options.db
  if (options.username !== undefined) o.username = options.username
  if (options.password !== undefined) o.password = options.password
  if (options.tls === true) o.tls = {}
  else if (typeof options.tls === 'object') {
    const t = options.tls
    o.tls = {
      rejectUnauthorized: t.rejectUnauthorized,
      ...(t.caFile === undefined ? {} : { ca: readFileSync(resolvePath(t.caFile)) }),
      ...(t.certFile === undefined ? {} : { cert: readFileSync(resolvePath(t.certFile)) }),
      ...(t.keyFile === undefined ? {} : { key: readFileSync(resolvePath(t.keyFile)) }),
      ...(t.servername === undefined ? {} : { servername: t.servername })
    }
  }
  if (options.sentinel) {
    o.name = options.sentinel.name
    o.sentinels = options.sentinel.sentinels
    if (options.sentinel.sentinelUsername !== undefined) o.sentinelUsername = options.sentinel.sentinelUsername
    if (options.sentinel.sentinelPassword !== undefined) o.sentinelPassword = options.sentinel.sentinelPassword
  }
  return o
}

/** Where the connections go, for log lines (never the password). */
export function describeTarget (options: RedisPersistenceOptions): string {
  if (options.sentinel) return `sentinel master "${options.sentinel.name}"`
  if (options.url !== undefined) {
    const u = new URL(options.url)
    return `${u.protocol}//${options.host ?? u.hostname}:${options.port ?? (u.port || 6379)}`
  }
  return `redis://${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`
}

/**
 * The plugin's Redis connections: creates them, reports their state to the
 * logger (each change once; repeated errors at most every `logIntervalMs`),
 * tells whether all are up, and closes them all.
 */
export class RedisConnections {
  readonly #options: RedisPersistenceOptions
  readonly #base: RedisOptions
  readonly #logger: Logger
  readonly #target: string
  readonly #all = new Map<ConnectionRole, Redis>()
  readonly #down = new Set<ConnectionRole>()
  readonly #lastLog = new Map<ConnectionRole, number>()
  readonly #lastError = new Map<ConnectionRole, Error>()
  readonly #closed = new Set<ConnectionRole>()
  #closing = false

  constructor (options: RedisPersistenceOptions, logger: Logger, resolvePath: (path: string) => string) {
    this.#options = options
    this.#base = ioredisOptions(options, resolvePath)
    this.#logger = logger
    this.#target = describeTarget(options)
  }

  /** True when every connection created so far is ready. */
  get up (): boolean { return this.#down.size === 0 }

  /** Where the connections go (for messages). */
  get target (): string { return this.#target }

  /** A new connection for `role` (one per role), with the store's key prefix for the store. */
  open (role: ConnectionRole): Redis {
    if (this.#all.has(role)) throw new Error(`a ${role} connection is already open`)
    const opts: RedisOptions = {
      ...this.#base,
      connectionName: `embedmq-${role}`,
      ...(role === 'store' ? { keyPrefix: this.#options.keyPrefix } : {}),
      ...(role === 'publish' ? { enableAutoPipelining: true } : {})
    }
    const conn = this.#options.url === undefined ? new Redis(opts) : new Redis(this.#options.url, opts)
    this.#all.set(role, conn)
    this.#down.add(role)
    this.#watch(role, conn)
    return conn
  }

  #watch (role: ConnectionRole, conn: Redis): void {
    let everReady = false
    conn.on('ready', () => {
      const wasDown = this.#down.delete(role)
      if (everReady && wasDown) this.#logger.info({ role, redis: this.#target }, `Redis ${role} connection to ${this.#target} is back`)
      everReady = true
      this.#lastLog.delete(role)
    })
    conn.on('error', (err: Error) => {
      this.#lastError.set(role, err)
      if (this.#closing || this.#closed.has(role)) return
      const now = Date.now()
      const last = this.#lastLog.get(role)
      if (last !== undefined && now - last < this.#options.logIntervalMs) return
      this.#lastLog.set(role, now)
      this.#logger.error({ role, redis: this.#target, err: { message: err.message, code: (err as { code?: string }).code } },
        `Redis ${role} connection to ${this.#target} failed: ${err.message}; retrying (new clients are ${this.#options.refuseClientsWhileDown ? 'refused' : 'held'} until it is back)`)
    })
    conn.on('close', () => {
      if (this.#closing || this.#closed.has(role)) return
      if (!this.#down.has(role)) {
        this.#down.add(role)
        this.#logger.warn({ role, redis: this.#target }, `Redis ${role} connection to ${this.#target} lost; reconnecting`)
      }
    })
  }

  /** Resolves once every open connection is ready; rejects after `connectTimeoutMs` naming the last error. */
  async ready (): Promise<void> {
    const deadline = Date.now() + this.#options.connectTimeoutMs
    while (!this.up) {
      if (Date.now() > deadline) {
        const errors = [...this.#down].map(role => `${role}: ${this.#lastError.get(role)?.message ?? 'no answer'}`)
        throw new Error(`cannot reach Redis at ${this.#target} within ${this.#options.connectTimeoutMs} ms (${errors.join('; ')})`)
      }
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /**
   * Closes every connection: QUIT when it is up (what was sent is answered first), a bounded
   * wait, then a hard disconnect; a connection that is down is disconnected at once, which
   * also stops its reconnection timer. Idempotent. `roles` closes only those (the bus closes its own two).
   */
  async close (roles: readonly ConnectionRole[] = [...this.#all.keys()]): Promise<void> {
    if (roles.length === this.#all.size) this.#closing = true
    await Promise.all(roles.map(async role => {
      const conn = this.#all.get(role)
      if (!conn) return
      this.#closed.add(role)
      await closeOne(conn)
      this.#down.delete(role)
    }))
  }
}

async function closeOne (conn: Redis): Promise<void> {
  if (conn.status === 'end') return
  if (conn.status === 'ready') {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      conn.quit().catch(() => undefined),
      new Promise<void>(resolve => { timer = setTimeout(resolve, 1000) })
    ])
    clearTimeout(timer)
  }
  conn.disconnect()
}
