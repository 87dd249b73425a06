import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { PeerCertificate } from 'node:tls'
import type { InboundGuard } from '../edge/inbound-guard.js'
import type { ListenerTransport, Transport } from '../types.js'

/** What a listener knows about a new connection, handed to the broker with the stream. */
export interface ConnectionMeta {
  transport: Transport
  listener: string
  remoteAddress?: string
  remotePort?: number
  request?: IncomingMessage
  peerCertificate?: PeerCertificate
  peerCertificateAuthorized?: boolean
  /** Set when the listener logs clients in by certificate and this one carried a verified name. */
  certificateUsername?: string
}

/** Where listeners deliver accepted connections (the broker). */
export interface ConnectionSink {
  accept (stream: Duplex, meta: ConnectionMeta): void
  /** The largest packet allowed (WebSocket frames are capped near it). */
  readonly maxPacketSize: number
  /** A fresh edge guard for one connection's inbound bytes. */
  createInboundGuard (): InboundGuard
}

/** A bound listener's address, for logs, tests and `broker.addresses()`. */
export interface ListenerAddress {
  name: string
  transport: ListenerTransport
  /** A host a local client can connect to (loopback when the listener binds all interfaces). */
  host: string
  /** The address actually bound: '0.0.0.0' or '::' means every interface. */
  boundAddress: string
  port: number
  /** A URL a client can connect to, e.g. mqtt://127.0.0.1:1883 or ws://127.0.0.1:8083/mqtt. */
  url: string
}

export interface Listener {
  readonly name: string
  readonly transport: ListenerTransport
  start (): Promise<ListenerAddress>
  /** Stops accepting; existing connections are closed by the broker. */
  stop (): Promise<void>
  address (): ListenerAddress | undefined
}
