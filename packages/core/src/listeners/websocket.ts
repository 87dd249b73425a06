import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { WebSocketServer } from 'ws'
import { EmbedmqError } from '../errors.js'
import { canonicalOrigin, parseOrigin } from '../origin.js'
import type { ListenerTransport as Transport } from '../types.js'
import { bind, unbind } from './bind.js'
import { certificateName, tlsServerOptions, type CertificateLogin, type TlsSettings } from './tls-options.js'
import type { ConnectionMeta, ConnectionSink, Listener, ListenerAddress } from './types.js'
import { WebSocketDuplex } from './ws-duplex.js'

export interface WebSocketGatewayOptions {
  /** Listener name, for logs and connection metadata. */
  name: string
  /** URL path that carries MQTT, e.g. '/mqtt'. */
  path: string
  /**
   * Allowed browser origins ('https://app.example.com'); requests without an
   * Origin header (non-browser clients) always pass. Undefined allows all.
   */
  allowedOrigins?: readonly string[]
  /** On a wss server that verifies client certificates: log clients in by certificate. */
  certificateLogin?: CertificateLogin
}

/**
 * A frame may carry a whole packet plus the start of the next, so ws accepts
 * frames a little over the packet limit; the edge guard enforces the packet
 * limit itself. ws holds a frame in memory until it is complete, so this also
 * bounds what one frame can make the broker buffer.
 */
const FRAME_SLACK = 16

/** Canonical form of a configured origin; a bad one fails loudly where it is configured (mountBroker, listeners). */
function allowedOriginOrThrow (value: string): string {
  const parsed = parseOrigin(value)
  if ('origin' in parsed) return parsed.origin
  throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID', `allowedOrigins: ${parsed.problem}`, { origin: value })
}

/** Sub-protocols MQTT clients offer; we answer with the first we know. */
const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1']

function refuseUpgrade (socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`,
    () => socket.destroy())
}

/**
 * Turns HTTP upgrade requests on one path into MQTT connections. It can be
 * attached to any http(s).Server — the host app's own — and leaves upgrades
 * on other paths alone, so the app's own WebSocket endpoints keep working.
 */
export class WebSocketGateway {
  readonly #wss: WebSocketServer
  readonly #allowed: Set<string> | undefined

  constructor (private readonly options: WebSocketGatewayOptions, private readonly sink: ConnectionSink) {
    this.#allowed = options.allowedOrigins ? new Set(options.allowedOrigins.map(allowedOriginOrThrow)) : undefined
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: sink.maxPacketSize + FRAME_SLACK,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered) => MQTT_SUBPROTOCOLS.find(p => offered.has(p)) ?? false
    })
  }

  get path (): string { return this.options.path }

  /** Whether this gateway should take the request (its path matches). */
  matches (req: http.IncomingMessage): boolean {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    return (q === -1 ? url : url.slice(0, q)) === this.options.path
  }

  /** Whether the request's Origin (if any) is allowed: the Cross-Site WebSocket Hijacking guard. */
  originAllowed (req: http.IncomingMessage): boolean {
    const origin = req.headers.origin
    if (origin === undefined || this.#allowed === undefined) return true
    const canonical = canonicalOrigin(origin)
    return canonical !== undefined && this.#allowed.has(canonical)
  }

  /**
   * Handles an upgrade for this gateway's path. Returns false (touching nothing)
   * when the path is not ours, so the caller can pass the request on.
   */
  handleUpgrade (req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!this.matches(req)) return false
    if (!this.originAllowed(req)) {
      refuseUpgrade(socket, 403, 'Forbidden: origin not allowed')
      return true
    }
    const secure = (req.socket as TLSSocket).encrypted === true
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = new WebSocketDuplex(ws, { guard: this.sink.createInboundGuard(), maxPacketSize: this.sink.maxPacketSize })
      const tlsSocket = req.socket as TLSSocket
      const transport: Transport = secure ? 'wss' : 'ws'
      this.sink.accept(stream, {
        transport,
        listener: this.options.name,
        remoteAddress: req.socket.remoteAddress,
        remotePort: req.socket.remotePort,
        request: req,
        ...(secure && typeof tlsSocket.getPeerCertificate === 'function' ? this.#certificateMeta(tlsSocket) : {})
      })
    })
    return true
  }

  #certificateMeta (socket: TLSSocket): Pick<ConnectionMeta, 'peerCertificate' | 'peerCertificateAuthorized' | 'certificateUsername'> {
    const peerCertificate = socket.getPeerCertificate()
    const login = this.options.certificateLogin
    const certificateUsername = login ? certificateName(peerCertificate, socket.authorized, login) : undefined
    return { peerCertificate, peerCertificateAuthorized: socket.authorized, ...(certificateUsername === undefined ? {} : { certificateUsername }) }
  }

  /**
   * Attaches to a server's 'upgrade' event. Upgrades on other paths are left
   * to the server's other listeners; when there are none, they are refused
   * with 404 so sockets don't hang. Returns a function that detaches.
   */
  attach (server: http.Server | https.Server): () => void {
    const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (this.handleUpgrade(req, socket, head)) return
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found')
    }
    server.on('upgrade', onUpgrade)
    return () => { server.off('upgrade', onUpgrade) }
  }
}

export interface WebSocketListenerOptions extends WebSocketGatewayOptions {
  /** Rename to `<transport>:<bound port>` once bound (an unnamed listener on port 0). */
  namedByBoundPort?: boolean
  host?: string
  port: number
  tls?: TlsSettings
}

/** A standalone MQTT-over-WebSocket port (ws or wss), for brokers without a host HTTP server. */
export class WebSocketListener implements Listener {
  name: string
  readonly transport: Transport
  readonly #server: http.Server | https.Server
  #address: ListenerAddress | undefined

  readonly #options: WebSocketListenerOptions

  constructor (options: WebSocketListenerOptions, sink: ConnectionSink) {
    // Our own copy, shared with the gateway, so a rename after binding reaches its connections' metadata.
    this.#options = { ...options }
    this.name = options.name
    this.transport = options.tls ? 'wss' : 'ws'
    const notFound = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end(`MQTT over WebSocket: connect with a WebSocket client to ${options.path}\n`)
    }
    this.#server = options.tls
      ? https.createServer(tlsServerOptions(options.tls, options.name), notFound)
      : http.createServer(notFound)
    new WebSocketGateway(this.#options, sink).attach(this.#server)
  }

  async start (): Promise<ListenerAddress> {
    const options = this.#options
    this.#address = await bind(this.#server, this.name, this.transport, options.port, options.host, options.path)
    if (options.namedByBoundPort === true) {
      this.name = options.name = `${this.transport}:${this.#address.port}`
      this.#address = { ...this.#address, name: this.name }
    }
    return this.#address
  }

  async stop (): Promise<void> {
    this.#server.closeIdleConnections()
    await unbind(this.#server)
  }

  address (): ListenerAddress | undefined { return this.#address }
}
