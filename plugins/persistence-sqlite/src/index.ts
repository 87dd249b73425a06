/**
 * @embedmq/persistence-sqlite: durable embedmq state in one SQLite file.
 * - `sqlitePersistence(options)` (also the default export, for config files): the plugin;
 * - `SqlitePersistence`: the aedes-persistence 11 store itself, usable without the plugin.
 */
import { sqlitePersistence } from './plugin.js'

export { sqlitePersistence, PLUGIN_NAME } from './plugin.js'
export { sqlitePersistenceOptionsSchema, type SqlitePersistenceOptionsInput, type SqlitePersistencePluginOptions } from './options.js'
export {
  SqlitePersistence, type BrokerRef, type ClientRef, type QueueTarget, type SqlitePersistenceOptions, type SubscriptionInput
} from './persistence.js'
export { SqlitePersistenceError, type Synchronous } from './database.js'
export { SCHEMA_VERSION } from './schema.js'

export default sqlitePersistence
