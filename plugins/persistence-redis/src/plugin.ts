import { next, refuse, type Plugin, type PluginContext } from '@embedmq/core'
import { redisPersistenceOptionsSchema, type RedisPersistenceOptions, type RedisPersistenceOptionsInput } from './options.js'
import { RedisPersistenceProvider } from './provider.js'

/** The name the plugin registers under. */
export const PLUGIN_NAME = 'persistence-redis'

/** Runs before every other authenticator, so a client is refused before any credential check. */
const GATE_PRIORITY = 1_000_000

/** The plugin, with read access to its provider once registered (for health checks and tests). */
export interface RedisPersistencePlugin extends Plugin<RedisPersistenceOptions> {
  /** The provider of the current broker run, once `register` ran. */
  readonly provider: RedisPersistenceProvider | undefined
}

/**
 * Sessions, offline queues, retained messages and QoS 2 state in Redis
 * (aedes-persistence-redis 12), and a Redis pub/sub bus (mqemitter-redis 7)
 * so that brokers sharing a Redis and a key prefix form one cluster.
 *
 *   createBroker({ plugins: [redisPersistence({ url: 'redis://127.0.0.1:6379', keyPrefix: 'plant-a:' })] })
 */
export function redisPersistence (options: RedisPersistenceOptionsInput = {}): RedisPersistencePlugin {
  let provider: RedisPersistenceProvider | undefined
  return {
    name: PLUGIN_NAME,
    options,
    optionsSchema: redisPersistenceOptionsSchema,
    get provider () { return provider },
    register (ctx: PluginContext<RedisPersistenceOptions>) {
      const current = new RedisPersistenceProvider(ctx.options, ctx.logger, p => ctx.resolvePath(p))
      provider = current
      ctx.providePersistence(current)
      if (ctx.options.refuseClientsWhileDown) {
        // While Redis is down a session can be neither loaded nor stored: refuse (CONNACK 3, "server
        // unavailable"), which MQTT clients retry, rather than hold the CONNECT until it times out.
        ctx.addAuthenticator({
          authenticate: () => current.connections.up
            ? next()
            : refuse(3, `Redis at ${current.connections.target} is unavailable`)
        }, { priority: GATE_PRIORITY })
      }
    }
  }
}
