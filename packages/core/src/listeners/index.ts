import type { ListenerConfig } from '../config/schema.js'
import { NetListener } from './net-listener.js'
import type { ConnectionSink, Listener } from './types.js'
import { WebSocketListener } from './websocket.js'

/** The default listener name: `<type>:<port>`. */
export function listenerName (config: ListenerConfig): string {
  return config.name ?? `${config.type}:${config.port}`
}

/** Builds the listener a config entry describes. */
export function createListener (config: ListenerConfig, sink: ConnectionSink): Listener {
  const name = listenerName(config)
  const where = { name, port: config.port, ...(config.host === undefined ? {} : { host: config.host }) }
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
