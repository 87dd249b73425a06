import type { Server as NetServer, AddressInfo } from 'node:net'
import { EmbedmqError } from '../errors.js'
import type { ListenerTransport as Transport } from '../types.js'
import type { ListenerAddress } from './types.js'

const SCHEMES: Record<Transport, string> = { tcp: 'mqtt', tls: 'mqtts', ws: 'ws', wss: 'wss' }

/** Formats a bound address as a client URL; wildcard hosts become loopback, which is always reachable. */
export function listenerUrl (transport: Transport, address: AddressInfo, path = ''): { host: string, url: string } {
  const wildcard = address.address === '::' || address.address === '0.0.0.0'
  const host = wildcard ? '127.0.0.1' : address.address
  const shown = host.includes(':') ? `[${host}]` : host
  return { host, url: `${SCHEMES[transport]}://${shown}:${address.port}${path}` }
}

/** listen() as a promise that turns EADDRINUSE and friends into coded, one-line errors naming the port. */
export function bind (server: NetServer, name: string, transport: Transport, port: number, host: string | undefined, path = ''): Promise<ListenerAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      const where = `${host ?? '*'}:${port}`
      if (err.code === 'EADDRINUSE') {
        reject(new EmbedmqError('EMBEDMQ_LISTEN_ADDRESS_IN_USE',
          `port ${port} is already in use (${transport} listener "${name}" on ${where}); stop the other process or choose another port`,
          { listener: name, port, host }, { cause: err }))
      } else {
        reject(new EmbedmqError('EMBEDMQ_LISTEN_FAILED',
          `cannot listen on ${where} (${transport} listener "${name}"): ${err.message}`, { listener: name, port, host }, { cause: err }))
      }
    }
    const onListening = (): void => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      resolve({ name, transport, port: address.port, boundAddress: address.address, ...listenerUrl(transport, address, path) })
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

/** server.close() as a promise that also works for a server that never started. */
export function unbind (server: NetServer): Promise<void> {
  return new Promise(resolve => {
    if (!server.listening) { resolve(); return }
    server.close(() => resolve())
  })
}
