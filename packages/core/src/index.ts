/**
 * @embedmq/core: an MQTT broker that lives inside a Node.js application.
 *
 *   const broker = createBroker({ allowAnonymous: true, listeners: [{ type: 'tcp', port: 1883 }] })
 *   await broker.start()
 */
export { Broker, createBroker, type BrokerOptions, type WebSocketMountOptions } from './broker.js'
export type { BrokerApi, BrokerEvents, BrokerState, HealthReport, MessageHandler, PublishOptions, Unsubscribe } from './broker-api.js'
export * from './types.js'
export type { BridgeConnectionState, BridgeProvider, BridgeStatus } from './bridges.js'
export { EmbedmqError, isEmbedmqError, type EmbedmqErrorCode } from './errors.js'
export { createLogger, MemoryLogger, silentLogger, type LogEntry, type Logger, type LogLevel } from './logger.js'
export { Tokens, systemClock, type Clock } from './tokens.js'
export {
  allow, authenticated, deny, drop, next, proceed, refuse,
  type AuthenticationResult, type AuthorizationResult, type Authenticator, type Authorizer,
  type ConnackRefusal, type ConnectionListener, type Deny, type InterceptResult, type LinkOptions,
  type MaybePromise, type Next, type PublishInterceptor
} from './plugins/extensions.js'
export { resolveProvided, type OptionsSchema, type PersistenceProvider, type Plugin, type PluginContext, type Provided } from './plugins/plugin.js'
export { brokerConfigSchema, listenerSchema, limitsSchema, pluginSpecSchema } from './config/schema.js'
export type { BrokerConfig, BrokerConfigInput, Limits, ListenerConfig, ListenerConfigInput, PluginSpec } from './config/schema.js'
export { loadConfig, parseConfig, readConfigFile, envOverrides, mergeConfig, portFromEnv } from './config/load.js'
export { loadPluginSpec } from './config/plugins.js'
export type { ConnectionMeta, ListenerAddress } from './listeners/types.js'
export { topicFilterProblem, topicMatches, topicNameProblem } from './topic.js'
export { canonicalOrigin, parseOrigin } from './origin.js'
