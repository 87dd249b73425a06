import type { DependencyContainer, InjectionToken } from 'tsyringe'
import type { Logger } from '../logger.js'
import type { BrokerApi } from '../broker-api.js'
import type { BridgeProvider } from '../bridges.js'
import type {
  Authenticator, Authorizer, ConnectionListener, LinkOptions, MaybePromise, PublishInterceptor
} from './extensions.js'

/**
 * Where durable state lives. The default is in memory; persistence plugins
 * (SQLite, Redis) provide their own. One provider per broker.
 */
export interface PersistenceProvider {
  readonly name: string
  /** An aedes-persistence 11 compatible store. */
  createPersistence (): MaybePromise<object>
  /** An mqemitter-compatible bus, for brokers that share messages (cluster mode). */
  createEmitter? (): MaybePromise<object>
  /** Called after the broker has closed; release connections and files here. */
  close? (): MaybePromise<void>
}

/** Anything with zod's `safeParse` shape: how plugins declare their options. */
export interface OptionsSchema<O> {
  safeParse (value: unknown): { success: true, data: O } | { success: false, error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>, message: string }> } }
}

/** An extension is given as an instance, or as a class the plugin's container constructs. */
export type Provided<T> = T | InjectionToken<T>

/** What a plugin receives in `register`. */
export interface PluginContext<O = unknown> {
  /** The plugin's own name. */
  readonly name: string
  /** The plugin's options, validated against its `optionsSchema`. */
  readonly options: O
  /** A logger bound to `{ plugin: name }`. */
  readonly logger: Logger
  /**
   * The plugin's own tsyringe container: a child of the broker's, so what the
   * plugin registers stays its own, while core services (Tokens.*) resolve.
   */
  readonly container: DependencyContainer
  /** The in-process broker API. */
  readonly broker: BrokerApi
  /**
   * Resolves a file path from the plugin's options: relative paths resolve
   * from the config file's folder (`baseDir`), or the working directory.
   */
  resolvePath (path: string): string
  addAuthenticator (authenticator: Provided<Authenticator>, options?: LinkOptions): void
  addAuthorizer (authorizer: Provided<Authorizer>, options?: LinkOptions): void
  addPublishInterceptor (interceptor: Provided<PublishInterceptor>, options?: LinkOptions): void
  addConnectionListener (listener: Provided<ConnectionListener>): void
  providePersistence (provider: Provided<PersistenceProvider>): void
  /** Provides the machinery behind broker.bridge()/unbridge()/bridges(); one provider per broker. */
  provideBridges (provider: Provided<BridgeProvider>): void
}

/**
 * A plugin: a name, the plugins it needs, and a register function that
 * contributes to the extension points. start/stop run in dependency order
 * (stop in reverse), after every plugin has registered.
 */
export interface Plugin<O = unknown> {
  readonly name: string
  readonly dependsOn?: readonly string[]
  readonly options?: unknown
  readonly optionsSchema?: OptionsSchema<O>
  register (ctx: PluginContext<O>): MaybePromise<void>
  start? (): MaybePromise<void>
  stop? (): MaybePromise<void>
}

function isToken<T> (value: Provided<T>): value is InjectionToken<T> {
  return typeof value === 'function' || typeof value === 'string' || typeof value === 'symbol'
}

/** An instance as it is, or a class/token constructed by the container (with its injections). */
export function resolveProvided<T> (container: DependencyContainer, provided: Provided<T>): T {
  return isToken(provided) ? container.resolve(provided) : provided
}
