import net from 'node:net'
import tls from 'node:tls'
import type { ListenerTransport as Transport } from '../types.js'
import { bind, unbind } from './bind.js'
import { certificateName, tlsServerOptions, type TlsSettings } from './tls-options.js'
import type { ConnectionSink, Listener, ListenerAddress } from './types.js'

export interface NetListenerOptions {
  name: string
  /** Rename to `<transport>:<bound port>` once bound (an unnamed listener on port 0). */
  namedByBoundPort?: boolean
  host?: string
  port: number
  /** Disable Nagle's algorithm (TCP_NODELAY): lower latency for small messages, at a throughput cost. */
  noDelay: boolean
  /** Present for a TLS listener. */
  tls?: TlsSettings
}

/**
 * MQTT over TCP, or over TLS when `tls` is given. `noDelay` turns Nagle off:
 * measured here, that cut TCP delivery latency under mixed load (p99 ~50 ms to
 * ~12 ms) but cost 15–30 % of throughput, so it is a per-listener choice.
 */
export class NetListener implements Listener {
  name: string
  readonly transport: Transport
  readonly #server: net.Server
  #address: ListenerAddress | undefined

  constructor (private readonly options: NetListenerOptions, sink: ConnectionSink) {
    this.name = options.name
    if (options.tls) {
      this.transport = 'tls'
      const server = tls.createServer({ ...tlsServerOptions(options.tls, options.name), noDelay: options.noDelay })
      const login = options.tls.certificateLogin
      server.on('secureConnection', (socket: tls.TLSSocket) => {
        socket.setNoDelay(options.noDelay)
        const peerCertificate = socket.getPeerCertificate()
        const certificateUsername = login ? certificateName(peerCertificate, socket.authorized, login) : undefined
        sink.accept(socket, {
          transport: 'tls',
          listener: this.name,
          remoteAddress: socket.remoteAddress,
          remotePort: socket.remotePort,
          peerCertificate,
          peerCertificateAuthorized: socket.authorized,
          ...(certificateUsername === undefined ? {} : { certificateUsername })
        })
      })
      // A failed handshake is the client's problem: drop its socket, keep listening.
      server.on('tlsClientError', (_err, socket) => { socket.destroy() })
      this.#server = server
    } else {
      this.transport = 'tcp'
      this.#server = net.createServer({ noDelay: options.noDelay }, (socket) => {
        sink.accept(socket, {
          transport: 'tcp', listener: this.name, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort
        })
      })
    }
  }

  async start (): Promise<ListenerAddress> {
    this.#address = await bind(this.#server, this.name, this.transport, this.options.port, this.options.host)
    if (this.options.namedByBoundPort === true) {
      this.name = `${this.transport}:${this.#address.port}`
      this.#address = { ...this.#address, name: this.name }
    }
    return this.#address
  }

  stop (): Promise<void> { return unbind(this.#server) }

  address (): ListenerAddress | undefined { return this.#address }
}
