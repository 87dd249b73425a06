import 'reflect-metadata'
import { resolve as resolvePath } from 'node:path'
import type { DependencyContainer } from 'tsyringe'
import { EmbedmqError, toError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { BrokerApi } from '../broker-api.js'
import type { BridgeProvider } from '../bridges.js'
import { Tokens } from '../tokens.js'
import { Chain } from './chain.js'
import type { Authenticator, Authorizer, ConnectionListener, PublishInterceptor } from './extensions.js'
import { orderByDependencies } from './order.js'
import { resolveProvided, type PersistenceProvider, type Plugin, type PluginContext, type Provided } from './plugin.js'

/** What plugins contributed: the chains the broker's hooks run. */
export class Extensions {
  readonly authenticators: Chain<Authenticator>
  readonly authorizers: Chain<Authorizer>
  readonly interceptors: Chain<PublishInterceptor>
  readonly connectionListeners: Array<{ plugin: string, listener: ConnectionListener }> = []
  persistence: { plugin: string, provider: PersistenceProvider } | undefined
  bridges: { plugin: string, provider: BridgeProvider } | undefined

  constructor (timeoutMs: number) {
    this.authenticators = new Chain(timeoutMs)
    this.authorizers = new Chain(timeoutMs)
    this.interceptors = new Chain(timeoutMs)
  }
}

export interface PluginHostOptions {
  /** Default answer timeout for chain links. */
  linkTimeoutMs: number
  /** How long one plugin's register/start/stop may take. */
  lifecycleTimeoutMs: number
}

async function within<T> (work: () => T | Promise<T>, ms: number, what: string, plugin: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      Promise.resolve().then(work),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new EmbedmqError('EMBEDMQ_PLUGIN_TIMEOUT',
          `plugin "${plugin}" did not finish ${what} within ${ms} ms`, { plugin, phase: what })), ms)
      })
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Loads plugins into one broker: checks the dependency graph, validates
 * options, gives each plugin its own child container, runs register then
 * start in dependency order, and stop in reverse.
 */
export class PluginHost {
  readonly extensions: Extensions
  readonly #plugins: Plugin[] = []
  #started: Plugin[] = []

  constructor (
    private readonly container: DependencyContainer,
    private readonly logger: Logger,
    private readonly broker: BrokerApi,
    private readonly options: PluginHostOptions & { baseDir?: string }
  ) {
    this.extensions = new Extensions(options.linkTimeoutMs)
  }

  use (plugin: Plugin): void {
    this.#plugins.push(plugin)
  }

  get plugins (): readonly Plugin[] { return this.#plugins }

  #ordered: Plugin[] = []

  /** Checks the graph and options, then runs every plugin's register in dependency order. */
  async register (): Promise<void> {
    this.#ordered = orderByDependencies(this.#plugins)
    for (const plugin of this.#ordered) {
      const ctx = this.#contextFor(plugin)
      try {
        await within(() => plugin.register(ctx), this.options.lifecycleTimeoutMs, 'register', plugin.name)
      } catch (err) {
        throw this.#startFailure(plugin, 'register', err)
      }
    }
  }

  /** Starts registered plugins in dependency order; on failure stops those that started and throws a coded error. */
  async start (): Promise<void> {
    for (const plugin of this.#ordered) {
      try {
        if (plugin.start) await within(() => plugin.start!(), this.options.lifecycleTimeoutMs, 'start', plugin.name)
        this.#started.push(plugin)
      } catch (err) {
        await this.stop()
        throw this.#startFailure(plugin, 'start', err)
      }
    }
  }

  /** Stops started plugins in reverse order; a failing stop is logged and the rest still stop. */
  async stop (): Promise<void> {
    const started = this.#started.reverse()
    this.#started = []
    for (const plugin of started) {
      if (!plugin.stop) continue
      try {
        await within(() => plugin.stop!(), this.options.lifecycleTimeoutMs, 'stop', plugin.name)
      } catch (err) {
        this.logger.error({ plugin: plugin.name, err: toError(err) }, `plugin "${plugin.name}" failed to stop cleanly`)
      }
    }
  }

  #startFailure (plugin: Plugin, phase: string, thrown: unknown): EmbedmqError {
    if (thrown instanceof EmbedmqError) return thrown
    const err = toError(thrown)
    return new EmbedmqError('EMBEDMQ_PLUGIN_START_FAILED',
      `plugin "${plugin.name}" failed during ${phase}: ${err.message}`, { plugin: plugin.name, phase }, { cause: err })
  }

  #validOptions (plugin: Plugin): unknown {
    if (!plugin.optionsSchema) return plugin.options
    const parsed = plugin.optionsSchema.safeParse(plugin.options ?? {})
    if (parsed.success) return parsed.data
    const issues = parsed.error.issues.map(i => `${i.path.length > 0 ? i.path.map(String).join('.') : '(options)'}: ${i.message}`)
    throw new EmbedmqError('EMBEDMQ_PLUGIN_INVALID_OPTIONS',
      `plugin "${plugin.name}" has invalid options: ${issues.join('; ')}`, { plugin: plugin.name, issues })
  }

  #contextFor (plugin: Plugin): PluginContext {
    const options = this.#validOptions(plugin)
    const logger = this.logger.child({ plugin: plugin.name })
    const container = this.container.createChildContainer()
    container.register(Tokens.Logger, { useValue: logger })
    container.register(Tokens.PluginOptions, { useValue: options })
    const ext = this.extensions
    const name = plugin.name
    const resolve = <T>(provided: Provided<T>): T => resolveProvided(container, provided)
    return {
      name,
      options,
      logger,
      container,
      broker: this.broker,
      resolvePath: (path) => resolvePath(this.options.baseDir ?? process.cwd(), path),
      addAuthenticator: (a, o) => ext.authenticators.add(name, resolve(a), o),
      addAuthorizer: (a, o) => ext.authorizers.add(name, resolve(a), o),
      addPublishInterceptor: (i, o) => ext.interceptors.add(name, resolve(i), o),
      addConnectionListener: (l) => { ext.connectionListeners.push({ plugin: name, listener: resolve(l) }) },
      providePersistence: (p) => {
        if (ext.persistence) {
          throw new EmbedmqError('EMBEDMQ_PLUGIN_INVALID_OPTIONS',
            `plugins "${ext.persistence.plugin}" and "${name}" both provide persistence; a broker has one store`, { plugin: name })
        }
        ext.persistence = { plugin: name, provider: resolve(p) }
      },
      provideBridges: (p) => {
        if (ext.bridges) {
          throw new EmbedmqError('EMBEDMQ_PLUGIN_INVALID_OPTIONS',
            `plugins "${ext.bridges.plugin}" and "${name}" both provide bridges; a broker has one bridge provider`, { plugin: name })
        }
        ext.bridges = { plugin: name, provider: resolve(p) }
      }
    }
  }
}
