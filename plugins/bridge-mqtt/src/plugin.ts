import type { Plugin, PluginContext } from '@embedmq/core'
import { BridgeManager } from './manager.js'
import { bridgeMqttOptionsSchema, type BridgeMqttOptions, type BridgeMqttOptionsInput } from './options.js'

export const PLUGIN_NAME = 'bridge-mqtt'

/** The plugin, with its manager for app code that wants the bridges directly. */
export interface BridgeMqttPlugin extends Plugin<BridgeMqttOptions> {
  /** Available after the broker registered the plugin (i.e. after broker.start() began). */
  readonly manager: BridgeManager | undefined
}

/**
 * Bridges to other MQTT brokers. Configured ones start with the broker;
 * `broker.bridge(spec)` adds more at runtime, `broker.unbridge(name)` removes one.
 *
 *   createBroker({ plugins: [bridgeMqtt({ bridges: [{ name: 'cloud', url: 'mqtts://cloud.example.com',
 *     topics: [{ pattern: 'line1/#', direction: 'both', localPrefix: 'factory/', remotePrefix: 'sites/berlin/' }] }] })] })
 */
export function bridgeMqtt (options: BridgeMqttOptionsInput = {}): BridgeMqttPlugin {
  let manager: BridgeManager | undefined
  return {
    name: PLUGIN_NAME,
    options,
    optionsSchema: bridgeMqttOptionsSchema,
    get manager () { return manager },
    register (ctx: PluginContext<BridgeMqttOptions>) {
      const created = new BridgeManager(ctx.broker, ctx.logger, ctx.resolvePath)
      for (const bridge of ctx.options.bridges) created.addValid(bridge)
      ctx.provideBridges(created)
      const onState = (state: string): void => {
        // Stop the bridges before the broker closes its connections, so in-flight acknowledgements can still pass.
        if (state === 'stopping') void created.stop()
      }
      ctx.broker.on('stateChanged', onState)
      manager = created
    },
    start () { manager?.start() },
    async stop () { await manager?.stop() }
  }
}
