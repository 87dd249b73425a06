import type { Plugin, PluginContext } from '@embedmq/core'
import { sqlitePersistenceOptionsSchema, type SqlitePersistenceOptionsInput, type SqlitePersistencePluginOptions } from './options.js'
import { SqlitePersistence } from './persistence.js'

/** The name the plugin registers under. */
export const PLUGIN_NAME = 'persistence-sqlite'

/**
 * Sessions, offline queues, retained messages, wills and QoS 2 state in one
 * SQLite file, so they survive restarts and crashes.
 *
 *   createBroker({ plugins: [sqlitePersistence({ file: 'embedmq.db' })] })
 */
export function sqlitePersistence (options: SqlitePersistenceOptionsInput): Plugin<SqlitePersistencePluginOptions> {
  return {
    name: PLUGIN_NAME,
    options,
    optionsSchema: sqlitePersistenceOptionsSchema,
    register (ctx: PluginContext<SqlitePersistencePluginOptions>) {
      const file = ctx.resolvePath(ctx.options.file)
      let store: SqlitePersistence | undefined
      ctx.providePersistence({
        name: PLUGIN_NAME,
        // Opens the file: a missing folder, a corrupt or foreign file fails broker.start() with a SqlitePersistenceError naming it.
        createPersistence () {
          store = new SqlitePersistence({
            file,
            busyTimeoutMs: ctx.options.busyTimeoutMs,
            synchronous: ctx.options.synchronous,
            maxQueuedPerClient: ctx.options.maxQueuedPerClient,
            messageExpirySeconds: ctx.options.messageExpirySeconds,
            logger: ctx.logger
          })
          ctx.logger.info({ file }, `sqlite persistence: using ${file}`)
          return store
        },
        // The core destroys the store when the broker closes; this covers a start that failed before that.
        async close () {
          await store?.destroy()
          store = undefined
        }
      })
    }
  }
}
