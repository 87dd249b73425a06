import 'reflect-metadata'
import { resolve as resolvePath } from 'node:path'
import { container as rootContainer } from 'tsyringe'
import {
  resolveProvided, silentLogger, Tokens, type Authenticator, type Authorizer, type BrokerApi, type ConnectionListener, type Plugin,
  type BridgeProvider, type PluginContext, type PublishInterceptor, type PersistenceProvider, type Provided
} from '@embedmq/core'

/** What a plugin's register() contributed, captured without a broker, for calling extensions directly. */
export interface Captured {
  authenticators: Authenticator[]
  authorizers: Authorizer[]
  interceptors: PublishInterceptor[]
  connectionListeners: ConnectionListener[]
  persistence: PersistenceProvider[]
  bridges: BridgeProvider[]
}

/**
 * Runs a plugin's register() against a recording context (options validated
 * like the broker does) and returns what it added. `broker` defaults to a
 * stand-in that throws on use: unit-level calls should not need one.
 */
export async function capturePlugin (plugin: Plugin, broker?: BrokerApi): Promise<Captured> {
  const captured: Captured = { authenticators: [], authorizers: [], interceptors: [], connectionListeners: [], persistence: [], bridges: [] }
  const container = rootContainer.createChildContainer()
  const parsed = plugin.optionsSchema ? plugin.optionsSchema.safeParse(plugin.options ?? {}) : { success: true as const, data: plugin.options }
  if (!parsed.success) throw new Error(`plugin "${plugin.name}" has invalid options: ${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  const noBroker = new Proxy({}, { get: (_t, key) => { throw new Error(`capturePlugin has no broker (plugin used broker.${String(key)}); pass one`) } }) as BrokerApi
  container.register(Tokens.Logger, { useValue: silentLogger })
  container.register(Tokens.PluginOptions, { useValue: parsed.data })
  container.register(Tokens.BrokerApi, { useValue: broker ?? noBroker })
  const resolve = <T>(p: Provided<T>): T => resolveProvided(container, p)
  const ctx: PluginContext = {
    name: plugin.name,
    options: parsed.data,
    logger: silentLogger,
    container,
    broker: broker ?? noBroker,
    resolvePath: (path) => resolvePath(path),
    addAuthenticator: (a) => { captured.authenticators.push(resolve(a)) },
    addAuthorizer: (a) => { captured.authorizers.push(resolve(a)) },
    addPublishInterceptor: (i) => { captured.interceptors.push(resolve(i)) },
    addConnectionListener: (l) => { captured.connectionListeners.push(resolve(l)) },
    providePersistence: (p) => { captured.persistence.push(resolve(p)) },
    provideBridges: (p) => { captured.bridges.push(resolve(p)) }
  }
  await plugin.register(ctx)
  return captured
}
