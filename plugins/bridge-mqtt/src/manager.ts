import { EmbedmqError, type BridgeProvider, type BridgeStatus, type BrokerApi, type Logger } from '@embedmq/core'
import { Bridge, stateTopic } from './bridge.js'
import { bridgeSchema, describeIssues, type BridgeOptions } from './options.js'

/**
 * The bridges of one broker: the provider behind broker.bridge(),
 * broker.unbridge() and broker.bridges(). Bridges added before the broker
 * runs start with it; later ones start at once.
 */
export class BridgeManager implements BridgeProvider {
  readonly #bridges = new Map<string, Bridge>()
  readonly #listeners: Array<(status: BridgeStatus) => void> = []
  #running = false

  constructor (
    private readonly broker: BrokerApi,
    private readonly logger: Logger,
    private readonly resolvePath: (path: string) => string
  ) {}

  onStateChange (listener: (status: BridgeStatus) => void): void {
    this.#listeners.push(listener)
  }

  /** Validates a spec (throws EMBEDMQ_BRIDGE_INVALID naming the field) and adds the bridge. */
  async add (spec: unknown): Promise<BridgeStatus> {
    const parsed = bridgeSchema.safeParse(spec)
    if (!parsed.success) {
      throw new EmbedmqError('EMBEDMQ_BRIDGE_INVALID', `invalid bridge: ${describeIssues(parsed.error.issues)}`, { issues: parsed.error.issues.map(i => ({ path: i.path.map(String), message: i.message })) })
    }
    return this.addValid(parsed.data)
  }

  addValid (options: BridgeOptions): BridgeStatus {
    if (this.#bridges.has(options.name)) {
      throw new EmbedmqError('EMBEDMQ_BRIDGE_INVALID', `a bridge named "${options.name}" already exists; remove it first or pick another name`, { name: options.name })
    }
    const bridge = new Bridge(options, {
      broker: this.broker,
      logger: this.logger,
      resolvePath: this.resolvePath,
      onStatus: (status) => { for (const listener of this.#listeners) listener(status) }
    })
    this.#bridges.set(options.name, bridge)
    if (this.#running) this.#startOne(bridge)
    return bridge.status()
  }

  async remove (name: string): Promise<boolean> {
    const bridge = this.#bridges.get(name)
    if (!bridge) return false
    this.#bridges.delete(name)
    await bridge.stop()
    // A removed bridge leaves no state behind: clear its retained state topic.
    if (this.broker.state === 'running' || this.broker.state === 'starting') await this.broker.publish(stateTopic(name), '', { qos: 1, retain: true }).catch(() => undefined)
    this.logger.info({ bridge: name }, `bridge "${name}" removed`)
    return true
  }

  list (): BridgeStatus[] {
    return [...this.#bridges.values()].map(b => b.status())
  }

  get (name: string): Bridge | undefined {
    return this.#bridges.get(name)
  }

  /** Starts every bridge (the plugin's start, while the broker is starting). */
  start (): void {
    this.#running = true
    for (const bridge of this.#bridges.values()) this.#startOne(bridge)
  }

  #startOne (bridge: Bridge): void {
    try {
      bridge.start()
    } catch (err) {
      // e.g. a TLS file that cannot be read: this bridge stays down, the broker and the others run.
      this.logger.error({ bridge: bridge.name, err: (err as Error).message }, `bridge "${bridge.name}" could not start: ${(err as Error).message}`)
    }
  }

  async stop (): Promise<void> {
    this.#running = false
    await Promise.all([...this.#bridges.values()].map(b => b.stop()))
  }
}
