/**
 * Injection tokens for the services every broker registers in its tsyringe
 * child container. Plugin classes receive them with `@inject(Tokens.Logger)`.
 */
export const Tokens = {
  /** `Logger`: a child logger named after the plugin that resolves it. */
  Logger: Symbol.for('embedmq.Logger'),
  /** `BrokerApi`: the in-process broker API. */
  BrokerApi: Symbol.for('embedmq.BrokerApi'),
  /** `BrokerConfig`: the broker's validated configuration. */
  Config: Symbol.for('embedmq.Config'),
  /** The validated options of the plugin that resolves it. */
  PluginOptions: Symbol.for('embedmq.PluginOptions'),
  /** `Clock`: time source, replaceable in tests. */
  Clock: Symbol.for('embedmq.Clock')
} as const

/** A time source; `Date.now` unless a test swaps it. */
export interface Clock {
  now (): number
}

export const systemClock: Clock = { now: () => Date.now() }
