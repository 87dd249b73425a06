import { topicFilterProblem } from '@embedmq/core'
import { z } from 'zod'

/** The broker events an endpoint can select. */
export const EVENT_TYPES = [
  'message.published',
  'client.connected',
  'client.disconnected',
  'session.subscribed',
  'session.unsubscribed'
] as const

/** One of the selectable broker events. */
export type EventType = typeof EVENT_TYPES[number]

/** Headers the sender sets itself; an endpoint's `headers` may not replace them. */
const RESERVED_HEADER = /^(content-type|content-length|host|transfer-encoding|connection|x-embedmq-.*)$/i
/** RFC 9110 token characters: what a header name may contain. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Endpoint names appear in logs, stats and error messages. */
const ENDPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const topicFilter = z.string().superRefine((filter, ctx) => {
  const problem = topicFilterProblem(filter)
  if (problem) ctx.addIssue({ code: 'custom', message: `"${filter}" is not a valid topic filter: it ${problem}` })
})

const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid URL` })
    return
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `"${value}" must be an http: or https: URL` })
  }
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'credentials in the URL would be logged; put them in headers (e.g. Authorization) instead' })
  }
})

/** One endpoint: where the events go and how they are delivered. */
export const endpointOptionsSchema = z.strictObject({
  /** Where the POSTs go (http: or https:). */
  url: httpUrl,
  /** Which broker events to send. */
  events: z.array(z.enum(EVENT_TYPES)).min(1, 'select at least one event'),
  /** Topic filters (MQTT wildcards) selecting which publishes `message.published` sends. */
  topics: z.array(topicFilter).min(1, 'give at least one filter, or leave topics out for "#"').optional(),
  /** Extra request headers, e.g. Authorization. */
  headers: z.record(z.string(), z.string()).default({}).superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a valid header name` })
      else if (RESERVED_HEADER.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is set by the sender and cannot be replaced` })
      if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'a header value must not contain CR, LF or NUL' })
    }
  }),
  /** HMAC-SHA256 key for the X-Embedmq-Signature header. */
  secret: z.string().min(16, 'use a secret of at least 16 characters').optional(),
  /** The name of an environment variable holding the secret (keeps it out of broker.yaml). */
  secretEnv: z.string().min(1).optional(),
  /** How payloads are written: `utf8` text (payloads that are not valid UTF-8 fall back to base64) or always `base64`. */
  payloadEncoding: z.enum(['utf8', 'base64']).default('utf8'),
  batch: z.strictObject({
    /** Events per POST at most. 1 sends each event alone. */
    maxEvents: z.number().int().min(1).max(10_000).default(100),
    /** Approximate body size per POST at most (payload bytes plus ~256 bytes per event); one larger event goes alone. */
    maxBytes: z.number().int().min(1024).default(1024 * 1024),
    /** How long the first event of a batch waits for others before the batch is sent. */
    maxWaitMs: z.number().int().min(0).max(60_000).default(1000)
  }).prefault({}),
  retry: z.strictObject({
    /** Attempts per batch, the first included; 1 never retries. */
    maxAttempts: z.number().int().min(1).max(100).default(5),
    /** The first retry waits about this long; each next one about twice as long. */
    initialDelayMs: z.number().int().min(1).default(1000),
    /** The longest wait between attempts, Retry-After included. */
    maxDelayMs: z.number().int().min(1).default(30_000)
  }).prefault({}).refine(r => r.maxDelayMs >= r.initialDelayMs, { message: 'maxDelayMs must be at least initialDelayMs', path: ['maxDelayMs'] }),
  /** One request's deadline, response body included. */
  timeoutMs: z.number().int().min(1).max(300_000).default(10_000),
  /** Events waiting to be sent, at most; beyond it `overflow` decides which are dropped. */
  maxQueue: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Payload bytes waiting to be sent, at most (a second bound, for large payloads). */
  maxQueueBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Which event is dropped when the queue is full: the oldest waiting (keeps the freshest data) or the newest arriving. */
  overflow: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest')
}).superRefine((o, ctx) => {
  if (o.topics !== undefined && !o.events.includes('message.published')) {
    ctx.addIssue({ code: 'custom', path: ['topics'], message: 'topics only select message.published events; add message.published to events or remove topics' })
  }
  if (o.secret !== undefined && o.secretEnv !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['secretEnv'], message: 'give secret or secretEnv, not both' })
  }
})

/** The plugin's options, as validated by the broker (unknown keys are errors). */
export const webhookOptionsSchema = z.strictObject({
  /** The endpoints, by name (the name appears in logs and stats). */
  endpoints: z.record(z.string(), endpointOptionsSchema).superRefine((endpoints, ctx) => {
    const names = Object.keys(endpoints)
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'configure at least one endpoint' })
    for (const name of names) {
      if (!ENDPOINT_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `endpoint name "${name}" must be 1-64 letters, digits, '.', '_' or '-'` })
    }
  }),
  /** On broker stop, how long queued events may take to go out before the rest is reported undelivered. */
  flushTimeoutMs: z.number().int().min(0).max(25_000).default(5000),
  /** Every this often, an info line per endpoint with activity since the last one; 0 turns it off. */
  statsIntervalMs: z.number().int().min(0).default(60_000)
})

/** Options as written in code or a config file. */
export type WebhookOptionsInput = z.input<typeof webhookOptionsSchema>
/** Options with defaults applied. */
export type WebhookOptions = z.output<typeof webhookOptionsSchema>
/** One endpoint's options with defaults applied. */
export type EndpointOptions = z.output<typeof endpointOptionsSchema>

/**
 * A URL as logs and stats show it: scheme, host and port, with any path or
 * query elided, since hook URLs often carry their token there (Slack-style
 * `/services/T…/B…/secret`, `?token=`). The endpoint's name identifies it.
 */
export function redactUrl (url: string): string {
  const u = new URL(url)
  return u.pathname === '/' && u.search === '' ? u.origin : `${u.origin}/…`
}
