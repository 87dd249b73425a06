import net from 'node:net'
import tls from 'node:tls'
import type { Transport } from '../types.js'
import { bind, unbind } from './bind.js'
import { certificateName, tlsServerOptions, type TlsSettings } from './tls-options.js'
import type { ConnectionSink, Listener, ListenerAddress } from './types.js'

export interface NetListenerOptions {
  name: string
  host?: string
  port: number
  /** Present for a TLS listener. */
  tls?: TlsSettings
}

/**
 * MQTT over TCP, or over TLS when `tls` is given. Nagle is off (noDelay): the
 * broker already writes each packet in one go, and waiting for ACKs to batch
 * small packets cost up to tens of milliseconds of delivery latency.
 */
export class NetListener implements Listener {
  readonly name: string
  readonly transport: Transport
  readonly #server: net.Server
  #address: ListenerAddress | undefined

  constructor (private readonly options: NetListenerOptions, sink: ConnectionSink) {
    this.name = options.name
    if (options.tls) {
      this.transport = 'tls'
      const server = tls.createServer({ ...tlsServerOptions(options.tls, options.name), noDelay: true })
      const login = options.tls.certificateLogin
      server.on('secureConnection', (socket: tls.TLSSocket) => {
        socket.setNoDelay(true)
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
      this.#server = net.createServer({ noDelay: true }, (socket) => {
        sink.accept(socket, {
          transport: 'tcp', listener: this.name, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort
        })
      })
    }
  }

  async start (): Promise<ListenerAddress> {
    this.#address = await bind(this.#server, this.name, this.transport, this.options.port, this.options.host)
    return this.#address
  }

  stop (): Promise<void> { return unbind(this.#server) }

  address (): ListenerAddress | undefined { return this.#address }
}
