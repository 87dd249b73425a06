import { z } from 'zod'
import { parseOrigin } from '../origin.js'
import type { Plugin } from '../plugins/plugin.js'

/**
 * The one configuration schema for a broker: listeners, limits, policies and
 * plugins. Files, environment and code all pass through it, so every source
 * gets the same defaults and the same error messages. Objects are strict: a
 * misspelt key is an error naming it, not a silently ignored setting.
 */

const port = z.number().int().min(0).max(65535)
const pem = z.union([z.string(), z.instanceof(Buffer)])

const tlsFields = {
  /** PEM key, or `keyFile` to read it from disk. */
  key: pem.optional(),
  keyFile: z.string().optional(),
  cert: pem.optional(),
  certFile: z.string().optional(),
  /** CA bundle for verifying client certificates. */
  ca: pem.optional(),
  caFile: z.string().optional(),
  /** Ask clients for a certificate. */
  requestCert: z.boolean().default(false),
  /** With requestCert: refuse clients whose certificate does not verify against `ca`. */
  rejectUnauthorized: z.boolean().default(true),
  /** Passphrase for an encrypted key. */
  passphrase: z.string().optional(),
  /**
   * Log in with the client certificate (Mosquitto's use_identity_as_username):
   * a verified certificate's subject CN, or its first SAN of a kind, becomes the
   * username and the client is authenticated by it; the MQTT username and
   * password are ignored. Needs requestCert and a CA.
   */
  certificateLogin: z.enum(['cn', 'san:dns', 'san:email', 'san:uri']).optional()
}

/** TCP-level options of tcp and tls listeners. */
const tcpFields = {
  /**
   * Disable Nagle's algorithm (TCP_NODELAY). Off by default, as in Mosquitto
   * (set_tcp_nodelay): on lowers latency for small, sparse messages (commands,
   * dashboards) at a throughput cost under load.
   */
  noDelay: z.boolean().default(false)
}

const base = {
  /** A name for logs and `broker.addresses()`; defaults to `<type>:<port>`. */
  name: z.string().min(1).optional(),
  /** Address to bind; all interfaces when left out (as Mosquitto's `listener PORT`). */
  host: z.string().optional(),
  port
}

const allowedOrigin = z.string().transform((value, ctx) => {
  const parsed = parseOrigin(value)
  if ('origin' in parsed) return parsed.origin
  ctx.addIssue({ code: 'custom', message: parsed.problem })
  return z.NEVER
})

const wsFields = {
  /** URL path of the WebSocket endpoint. */
  path: z.string().startsWith('/').default('/mqtt'),
  /**
   * Browser origins allowed to open the socket (Cross-Site WebSocket Hijacking guard).
   * Requests without an Origin header (devices, CLI tools) are always allowed.
   * Leave out to allow any origin. Entries are origins (scheme://host[:port]), checked and
   * canonicalised here, so a trailing slash or an explicit default port still matches.
   */
  allowedOrigins: z.array(allowedOrigin).optional()
}

const hasKeyAndCert = (l: { key?: unknown, keyFile?: unknown, cert?: unknown, certFile?: unknown }): boolean =>
  (l.key !== undefined || l.keyFile !== undefined) && (l.cert !== undefined || l.certFile !== undefined)
const keyCertMessage = { message: 'a TLS listener needs key (or keyFile) and cert (or certFile)' }
const certLoginNeedsCa = (l: { certificateLogin?: unknown, requestCert?: boolean, ca?: unknown, caFile?: unknown }): boolean =>
  l.certificateLogin === undefined || (l.requestCert === true && (l.ca !== undefined || l.caFile !== undefined))
const certLoginMessage = { message: 'certificateLogin needs requestCert: true and a ca (or caFile) to verify client certificates against' }

export const listenerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tcp'), ...base, ...tcpFields }),
  z.strictObject({ type: z.literal('tls'), ...base, ...tcpFields, ...tlsFields }).refine(hasKeyAndCert, keyCertMessage).refine(certLoginNeedsCa, certLoginMessage),
  z.strictObject({ type: z.literal('ws'), ...base, ...wsFields }),
  z.strictObject({ type: z.literal('wss'), ...base, ...wsFields, ...tlsFields }).refine(hasKeyAndCert, keyCertMessage).refine(certLoginNeedsCa, certLoginMessage)
])

export const limitsSchema = z.strictObject({
  /** Largest MQTT packet accepted, in bytes (fixed header included). Bigger ones close the connection before their body is read. */
  maxPacketSize: z.number().int().min(64).max(268_435_455).default(1024 * 1024),
  /** Open connections across all listeners; more are closed at once. */
  maxConnections: z.number().int().min(1).default(10_000),
  /** A socket that has not sent CONNECT in this time is closed. */
  connectTimeoutMs: z.number().int().min(100).default(10_000),
  /** Topic levels allowed in a topic name or filter. */
  maxTopicLevels: z.number().int().min(1).max(100).default(32),
  /** Client identifiers longer than this are refused (CONNACK 0x02). */
  maxClientIdLength: z.number().int().min(23).max(65535).default(256),
  /** Largest keepalive a client may ask for, in seconds; 0 allows any. */
  maxKeepaliveSeconds: z.number().int().min(0).max(65535).default(0),
  /** Inbound QoS 2 messages a client may leave awaiting PUBREL before it is disconnected. */
  maxInflightInbound: z.number().int().min(1).default(1000),
  /** Packets a client may send before its CONNECT is processed. */
  queueLimit: z.number().int().min(1).default(42),
  /** Subscriptions one client may hold; more get SUBACK 0x80. */
  maxSubscriptionsPerClient: z.number().int().min(1).default(1000),
  /** What may wait to be sent to one client: the slow-consumer bound. */
  outgoing: z.strictObject({
    /** Above this many unsent bytes, QoS 0 messages to the client are dropped (and counted). */
    maxBufferedBytes: z.number().int().min(1024).default(2 * 1024 * 1024),
    /** Above this many unsent bytes, a QoS 1/2 message disconnects the client (a persistent session keeps it). */
    maxQueuedBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
    /** Above this many unsent QoS 1/2 messages, the client is disconnected. */
    maxQueuedMessages: z.number().int().min(1).default(5000)
  }).prefault({}),
  /** Per-connection inbound rates; 0 turns a limit off. */
  rate: z.strictObject({
    /** PUBLISH packets a second, per connection. */
    messagesPerSecond: z.number().min(0).default(0),
    /** Inbound bytes a second, per connection. */
    bytesPerSecond: z.number().min(0).default(0),
    /** How many seconds of traffic a client may send in one burst. */
    burstSeconds: z.number().min(0.1).default(2),
    /** Over a rate: 'throttle' stops reading that socket for a while (backpressure on that client only); 'disconnect' closes it. */
    onExceeded: z.enum(['throttle', 'disconnect']).default('throttle')
  }).prefault({}),
  /** New connections a second from one remote address; 0 turns it off. */
  connectionsPerSecondPerAddress: z.number().min(0).default(0),
  /**
   * QoS 1/2 messages one persistent session may have queued in the built-in
   * memory store (offline queue plus unacknowledged); newer ones are dropped
   * and logged. 0 = no cap. Persistence plugins have their own caps.
   */
  maxQueuedPerSession: z.number().int().min(0).default(10_000)
}).prefault({})

/** A plugin given in code (see Plugin); checked for shape here, fully at start. */
const pluginObject = z.custom<Plugin>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Plugin).name === 'string' && typeof (v as Plugin).register === 'function',
  { message: 'expected a plugin object with a name and a register function' })

/** A plugin named in a config file: imported by module name, its default export called with `options`. */
export const pluginSpecSchema = z.strictObject({
  module: z.string().min(1),
  options: z.record(z.string(), z.unknown()).optional()
})
const pluginSpec = pluginSpecSchema

export const brokerConfigSchema = z.strictObject({
  /**
   * The folder relative file paths in plugin options resolve from
   * (`ctx.resolvePath`). loadConfig sets it to the config file's folder;
   * the working directory when left out.
   */
  baseDir: z.string().optional(),
  /** Broker id; random when left out. Brokers sharing a cluster need distinct ids. */
  id: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Let clients in when no authenticator says allow or deny. Off by default: deny. */
  allowAnonymous: z.boolean().default(false),
  /** Allow publish/subscribe when no authorizer decides. On by default: authenticated clients may do anything not denied. */
  allowUnmatchedAuthorization: z.boolean().default(true),
  listeners: z.array(listenerSchema).default([]),
  limits: limitsSchema,
  authorization: z.strictObject({
    /**
     * What happens to a client whose PUBLISH is denied. MQTT 3.1.1 allows either
     * acknowledging and dropping it, or closing the connection (MQTT-3.3.5-2).
     */
    onDeniedPublish: z.enum(['drop', 'disconnect']).default('drop'),
    /** Cache decisions per client and topic (emptied on disconnect and on `invalidateAuthorizations()`). */
    cache: z.boolean().default(true),
    /** Cached decisions kept per client; the cache empties when full. */
    cacheSize: z.number().int().min(1).default(1000)
  }).prefault({}),
  /**
   * Plugins, in registration order: plugin objects (in code), or
   * `{ module, options }` entries that are imported by module name (in files).
   */
  plugins: z.array(z.union([pluginObject, pluginSpec])).default([]),
  pluginTimeouts: z.strictObject({
    /** Default time an authenticator/authorizer/interceptor may take before it counts as deny. */
    linkMs: z.number().int().min(1).default(5_000),
    /** Time a plugin's register, start or stop may take. */
    lifecycleMs: z.number().int().min(1).default(30_000)
  }).prefault({}),
  /** How long `stop()` waits for in-flight QoS 1/2 exchanges before closing clients. */
  drainTimeoutMs: z.number().int().min(0).default(5_000),
  /** Interval of the $SYS heartbeat. */
  heartbeatIntervalMs: z.number().int().min(1000).default(60_000)
})

/** Configuration as written by a user (defaults optional). */
export type BrokerConfigInput = z.input<typeof brokerConfigSchema>
/** Configuration after validation, with every default filled in. */
export type BrokerConfig = z.output<typeof brokerConfigSchema>
export type ListenerConfig = z.output<typeof listenerSchema>
export type ListenerConfigInput = z.input<typeof listenerSchema>
export type Limits = z.output<typeof limitsSchema>
export type PluginSpec = z.output<typeof pluginSpecSchema>
