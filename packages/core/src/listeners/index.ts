import type { ListenerConfig } from '../config/schema.js'
import { NetListener } from './net-listener.js'
import type { ConnectionSink, Listener } from './types.js'
import { WebSocketListener } from './websocket.js'

/** The default listener name: `<type>:<port>` (with an ephemeral port, the bound one once started). */
export function listenerName (config: ListenerConfig): string {
  return config.name ?? `${config.type}:${config.port}`
}

/** A listener without a configured name on port 0 is renamed after the port it was given. */
export function namedByBoundPort (config: ListenerConfig): boolean {
  return config.name === undefined && config.port === 0
}

/** Builds the listener a config entry describes. */
export function createListener (config: ListenerConfig, sink: ConnectionSink): Listener {
  const name = listenerName(config)
  const where = { name, namedByBoundPort: namedByBoundPort(config), port: config.port, ...(config.host === undefined ? {} : { host: config.host }) }
  switch (config.type) {
    case 'tcp':
      return new NetListener({ ...where, noDelay: config.noDelay }, sink)
    case 'tls':
      return new NetListener({ ...where, noDelay: config.noDelay, tls: config }, sink)
    case 'ws':
      return new WebSocketListener({ ...where, path: config.path, ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}) }, sink)
    case 'wss':
      return new WebSocketListener({
        ...where,
        path: config.path,
        ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}),
        ...(config.certificateLogin ? { certificateLogin: config.certificateLogin } : {}),
        tls: config
      }, sink)
  }
}

export type { ConnectionMeta, ConnectionSink, Listener, ListenerAddress } from './types.js'
export { WebSocketGateway, type WebSocketGatewayOptions } from './websocket.js'
