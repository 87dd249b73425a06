import type { Plugin, PluginContext } from '@embedmq/core'
import { HttpAuthenticator } from './authenticator.js'
import { HttpAuthorizer } from './authorizer.js'
import { CoreCacheExpiry } from './core-cache-expiry.js'
import { DecisionStore } from './decision-store.js'
import { HttpExchange, type Endpoint } from './http-exchange.js'
import { isLoopbackUrl } from './loopback.js'
import { authHttpOptionsSchema, type AuthHttpOptions, type AuthHttpOptionsInput, type EndpointOptions } from './options.js'
import { RateLimitedLog } from './rate-limited-log.js'
import { LoginGrants, SubscriptionGrantIndex } from './read-grants.js'

/** Everything one registration owns, so stop() can release it. */
interface Runtime {
  exchange: HttpExchange
  expiry: CoreCacheExpiry
  stores: DecisionStore[]
  grants: SubscriptionGrantIndex
  forgetBroker: () => void
}

/** The plugin, with a way for the host app to apply an ACL change at once. */
export interface AuthHttpPlugin extends Plugin<AuthHttpOptions> {
  /**
   * Forgets every cached decision, the plugin's and the broker's, so the next
   * checks ask the service: call it when your app learns that permissions
   * changed. Read grants given at login stay with their connections.
   */
  invalidate (): void
}

const endpointOf = (common: Record<string, string>, e: EndpointOptions): Endpoint =>
  ({ url: e.url, method: e.method, headers: { ...common, ...e.headers } })

const shown = (e: EndpointOptions): string => {
  const u = new URL(e.url)
  return `${e.method} ${u.origin}${u.pathname}`
}

function register (ctx: PluginContext<AuthHttpOptions>): Runtime {
  const o = ctx.options
  const exchange = new HttpExchange(o)
  const limited = new RateLimitedLog(ctx.logger, o.logIntervalMs)
  const loginGrants = new LoginGrants()
  const grants = new SubscriptionGrantIndex(o.cache.authorize.maxEntries)
  // ctx.broker is used lazily: outside a running broker (capturePlugin) it may throw, which the authorizer logs.
  const expiry = new CoreCacheExpiry((clientId) => {
    try {
      ctx.broker.invalidateAuthorizations(clientId)
    } catch (err) {
      ctx.logger.debug({ err }, 'could not empty the broker\'s authorization cache')
    }
  })
  const stores: DecisionStore[] = []

  if (o.authenticate !== undefined) {
    const store = new DecisionStore({
      name: 'authenticate', endpoint: endpointOf(o.headers, o.authenticate), ...o.cache.authenticate, staleGrace: false, onError: o.onError
    }, exchange, ctx.logger, limited)
    stores.push(store)
    // The link's own timeout sits above the request's, so a slow service is reported by this plugin, with its reason.
    ctx.addAuthenticator(new HttpAuthenticator(store, loginGrants, o.onError), { priority: o.priority, timeoutMs: o.timeoutMs + 1000 })
  }

  if (o.authorize !== undefined) {
    const store = new DecisionStore({
      name: 'authorize', endpoint: endpointOf(o.headers, o.authorize), ...o.cache.authorize, staleGrace: true, onError: o.onError
    }, exchange, ctx.logger, limited)
    stores.push(store)
    const broker = { retained: (filter: string) => ctx.broker.retained(filter) }
    const authorizer = new HttpAuthorizer(store, loginGrants, grants, expiry, broker, ctx.logger, o)
    // A subscribe check may fetch its decision and then prefetch read decisions: two timeouts at most.
    ctx.addAuthorizer(authorizer, { priority: o.priority, timeoutMs: 2 * o.timeoutMs + 1000 })
    const url = new URL(o.authorize.url)
    if (url.protocol === 'http:' && !isLoopbackUrl(url)) {
      ctx.logger.warn({ endpoint: url.origin }, `authorize endpoint ${url.origin} is plain http:// over the network: usernames and topics travel in clear text`)
    }
  }

  ctx.logger.info({
    authenticate: o.authenticate === undefined ? undefined : shown(o.authenticate),
    authorize: o.authorize === undefined ? undefined : shown(o.authorize),
    timeoutMs: o.timeoutMs,
    onError: o.onError
  }, `delegating ${[o.authenticate && 'authentication', o.authorize && 'authorization'].filter(Boolean).join(' and ')} to HTTP (timeout ${o.timeoutMs} ms, onError: ${o.onError})`)
  const forgetBroker = (): void => {
    try {
      ctx.broker.invalidateAuthorizations()
    } catch (err) {
      ctx.logger.debug({ err }, 'could not empty the broker\'s authorization cache')
    }
  }
  return { exchange, expiry, stores, grants, forgetBroker }
}

/**
 * `@embedmq/auth-http`: delegates logins and ACL checks to HTTP endpoints.
 *
 *   authHttp({ authenticate: 'https://auth.internal/mqtt/login', authorize: 'https://auth.internal/mqtt/acl',
 *              headers: { authorization: `Bearer ${process.env.AUTH_SECRET}` } })
 *
 * One plugin object serves one broker: call the factory for each.
 */
export function authHttp (options: AuthHttpOptionsInput): AuthHttpPlugin {
  let runtime: Runtime | undefined
  return {
    name: typeof options?.name === 'string' && options.name !== '' ? options.name : 'auth-http',
    options,
    optionsSchema: authHttpOptionsSchema,
    register (ctx) {
      runtime = register(ctx)
    },
    invalidate () {
      if (runtime === undefined) return
      for (const store of runtime.stores) store.clear()
      runtime.grants.clear()
      runtime.forgetBroker()
    },
    stop () {
      if (runtime === undefined) return
      runtime.exchange.close()
      runtime.expiry.close()
      runtime.grants.clear()
      for (const store of runtime.stores) store.clear()
      runtime = undefined
    }
  }
}

export default authHttp
