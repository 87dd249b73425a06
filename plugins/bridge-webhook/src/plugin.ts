import type { Logger, Plugin, PluginContext } from '@embedmq/core'
import { redactUrl, webhookOptionsSchema, type EndpointOptions, type WebhookOptions, type WebhookOptionsInput } from './options.js'
import { EventRouter, type Route } from './router.js'
import { EndpointSender, type EndpointStats } from './sender.js'

/** The name the plugin registers under (in logs). */
export const PLUGIN_NAME = 'bridge-webhook'
const USER_AGENT = 'embedmq-bridge-webhook/0.1'

/** The plugin, plus its delivery counters. */
export interface WebhookPlugin extends Plugin<WebhookOptions> {
  /** Counters per endpoint name; empty before the broker started. */
  stats (): Record<string, EndpointStats>
}

/**
 * Selected broker events as batched, signed JSON POSTs to HTTP endpoints,
 * with retries, a bounded queue per endpoint and a flush on stop.
 *
 *   createBroker({ plugins: [webhook({ endpoints: { alerts: { url: 'https://example.com/hook', events: ['message.published'], topics: ['alarms/#'] } } })] })
 */
export function webhook (options: WebhookOptionsInput): WebhookPlugin {
  let runtime: Runtime | undefined
  return {
    name: PLUGIN_NAME,
    options,
    optionsSchema: webhookOptionsSchema,
    register (ctx: PluginContext<WebhookOptions>) {
      runtime = new Runtime(ctx)
    },
    start () {
      runtime?.start()
    },
    async stop () {
      await runtime?.stop()
    },
    stats () {
      return runtime?.stats() ?? {}
    }
  }
}

/** One broker's worth of senders, router and stats timer. */
class Runtime {
  readonly #senders: EndpointSender[]
  readonly #router: EventRouter
  readonly #options: WebhookOptions
  readonly #logger: Logger
  #statsTimer: NodeJS.Timeout | undefined
  #lastReported = new Map<string, string>()

  constructor (ctx: PluginContext<WebhookOptions>) {
    this.#options = ctx.options
    this.#logger = ctx.logger
    const routes: Route[] = []
    this.#senders = []
    for (const [name, endpoint] of Object.entries(ctx.options.endpoints)) {
      const sender = new EndpointSender({
        name, options: endpoint, secret: resolveSecret(name, endpoint), brokerId: ctx.broker.id, logger: ctx.logger, userAgent: USER_AGENT
      })
      this.#senders.push(sender)
      routes.push({ sender, events: new Set(endpoint.events), topics: endpoint.topics ?? ['#'] })
    }
    this.#router = new EventRouter(ctx.broker, routes, ctx.logger)
  }

  start (): void {
    for (const sender of this.#senders) sender.start()
    this.#router.attach()
    for (const [name, e] of Object.entries(this.#options.endpoints)) {
      const topics = e.events.includes('message.published') ? ` on ${(e.topics ?? ['#']).join(', ')}` : ''
      const url = redactUrl(e.url)
      this.#logger.info({ endpoint: name, url, events: e.events, topics: e.topics, signed: e.secret !== undefined || e.secretEnv !== undefined },
        `webhook endpoint "${name}" → ${url}: ${e.events.join(', ')}${topics}`)
    }
    if (this.#options.statsIntervalMs > 0) {
      this.#statsTimer = setInterval(() => this.#reportStats(), this.#options.statsIntervalMs)
      this.#statsTimer.unref()
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.#statsTimer)
    this.#router.detach()
    // In parallel: one slow endpoint must not eat another's grace period.
    await Promise.all(this.#senders.map(s => s.close(this.#options.flushTimeoutMs)))
  }

  stats (): Record<string, EndpointStats> {
    return Object.fromEntries(this.#senders.map(s => [s.name, s.stats()]))
  }

  /** An info line per endpoint whose counters moved since the last one. */
  #reportStats (): void {
    for (const sender of this.#senders) {
      const s = sender.stats()
      const key = `${s.delivered}/${s.failedAttempts}/${s.failed}/${s.dropped}/${s.queued}`
      if (this.#lastReported.get(sender.name) === key) continue
      this.#lastReported.set(sender.name, key)
      this.#logger.info({ endpoint: sender.name, ...s },
        `webhook endpoint "${sender.name}": delivered ${s.delivered}, failed attempts ${s.failedAttempts}, failed ${s.failed}, dropped ${s.dropped}, queued ${s.queued}`)
    }
  }
}

/** The endpoint's HMAC secret: given inline, or read from the environment variable it names. */
function resolveSecret (name: string, endpoint: EndpointOptions): string | undefined {
  if (endpoint.secretEnv === undefined) return endpoint.secret
  const value = process.env[endpoint.secretEnv]
  if (value === undefined || value === '') {
    throw new Error(`endpoints.${name}.secretEnv: the environment variable ${endpoint.secretEnv} is not set`)
  }
  if (value.length < 16) throw new Error(`endpoints.${name}.secretEnv: the secret in ${endpoint.secretEnv} is shorter than 16 characters`)
  return value
}
