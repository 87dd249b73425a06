/**
 * @embedmq/bridge-mqtt: bridges from an embedmq broker to other MQTT brokers.
 * - `bridgeMqtt(options)` (also the default export, for config files): the plugin;
 * - `broker.bridge(spec)` / `broker.unbridge(name)` / `broker.bridges()` once it is installed.
 */
import { bridgeMqtt } from './plugin.js'

export { bridgeMqtt, PLUGIN_NAME, type BridgeMqttPlugin } from './plugin.js'
export { Bridge, stateTopic } from './bridge.js'
export { BridgeManager } from './manager.js'
export { bridgeMqttOptionsSchema, bridgeSchema, mappingSchema, type BridgeMqttOptions, type BridgeMqttOptionsInput, type BridgeOptions, type BridgeOptionsInput, type MappingOptions } from './options.js'
export { compileMappings, toLocal, toRemote, type Mapping } from './mapping.js'

export default bridgeMqtt
