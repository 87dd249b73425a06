import { z } from 'zod'

/** Redis key and channel prefixes are also used in SCAN/PSUBSCRIBE patterns, so glob characters are refused. */
const PREFIX = /^[A-Za-z0-9:_.-]*$/

const tlsSchema = z.union([
  z.boolean(),
  z.strictObject({
    /** PEM file of the CA that signed Redis' certificate (relative paths: from the config file's folder). */
    caFile: z.string().min(1).optional(),
    /** Client certificate and key, for Redis configured with `tls-auth-clients yes`. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Host name to check the certificate against, when it differs from `host`. */
    servername: z.string().min(1).optional(),
    rejectUnauthorized: z.boolean().default(true)
  })
])

const sentinelSchema = z.strictObject({
  /** The master group name Sentinel monitors (`sentinel monitor <name> …`). */
  name: z.string().min(1),
  sentinels: z.array(z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) })).min(1),
  sentinelUsername: z.string().optional(),
  sentinelPassword: z.string().optional()
})

/** The plugin's options, as validated by the broker (unknown keys are errors). */
export const redisPersistenceOptionsSchema = z.strictObject({
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Other connection fields override what it says. */
  url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  /** Logical database of the store. Pub/sub is server-wide in Redis, so brokers are kept apart by `keyPrefix`, not `db`. */
  db: z.number().int().min(0).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: tlsSchema.optional(),
  /** Redis Sentinel: connect to the master of this group instead of `host`/`port`. */
  sentinel: sentinelSchema.optional(),
  /**
   * Prefix of every key the store writes and of every pub/sub channel of the bus. Brokers that
   * share a prefix form one cluster; give unrelated deployments on one Redis different prefixes.
   */
  keyPrefix: z.string().regex(PREFIX, 'may only contain letters, digits and : _ . -').default('embedmq:'),
  /** Most offline messages delivered to a persistent session when it reconnects (aedes-persistence-redis `maxSessionDelivery`). */
  maxSessionDelivery: z.number().int().min(1).default(1000),
  /** Seconds an offline message is kept before Redis expires it; 0 keeps it until delivered. */
  offlineMessageTtlSeconds: z.number().int().min(0).default(0),
  /** How long `broker.start()` waits for Redis before failing. */
  connectTimeoutMs: z.number().int().min(1).default(10_000),
  /**
   * Reconnection attempts a command waits through while Redis is down before it fails (ioredis
   * `maxRetriesPerRequest`). A store operation that fails is never acknowledged: the publishing
   * client is disconnected and retransmits.
   */
  maxRetriesPerRequest: z.number().int().min(0).default(20),
  /** Refuse new clients with CONNACK 3 (server unavailable) while a Redis connection is down. */
  refuseClientsWhileDown: z.boolean().default(true),
  /** Minimum time between two log lines about the same failing connection. */
  logIntervalMs: z.number().int().min(0).default(10_000)
}).refine(o => o.sentinel === undefined || (o.url === undefined && o.host === undefined && o.port === undefined), {
  message: 'give either sentinel or url/host/port, not both'
})

/** Options as written in code or a config file. */
export type RedisPersistenceOptionsInput = z.input<typeof redisPersistenceOptionsSchema>
/** Options with defaults applied. */
export type RedisPersistenceOptions = z.output<typeof redisPersistenceOptionsSchema>
