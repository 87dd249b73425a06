/**
 * @embedmq/express: put an embedmq broker on the port your Express app already has.
 *
 *   const server = app.listen(3000)
 *   mountBroker(server, broker, { path: '/mqtt', allowedOrigins: ['https://app.example.com'] })
 *   app.use(brokerHealth(broker))
 */
import type http from 'node:http'
import type https from 'node:https'
import { Router, type Request, type Response } from 'express'
import type { Broker, BrokerApi } from '@embedmq/core'

export interface MountOptions {
  /** URL path that carries MQTT over WebSocket. Default '/mqtt'. */
  path?: string
  /**
   * Browser origins allowed to open the MQTT socket, e.g. ['https://app.example.com'].
   * A request with any other Origin is refused with HTTP 403 before any MQTT
   * byte is exchanged (the Cross-Site WebSocket Hijacking guard). Requests with
   * no Origin header (devices, CLI clients) are not browsers and pass.
   * Leave out only when any web page may connect.
   */
  allowedOrigins?: readonly string[]
}

export interface MountedBroker {
  /** The path MQTT is served on. */
  readonly path: string
  /** Stops serving MQTT on the server (the broker keeps running). */
  detach (): void
}

/**
 * Serves MQTT over WebSocket on a path of the app's own http(s).Server.
 * Upgrade requests on other paths are left to the app's own handlers, so its
 * other WebSocket endpoints keep working.
 */
export function mountBroker (server: http.Server | https.Server, broker: Broker, options: MountOptions = {}): MountedBroker {
  const path = options.path ?? '/mqtt'
  const detach = broker.attachWebSocket(server, {
    path,
    name: `express:${path}`,
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {})
  })
  return { path, detach }
}

export interface HealthOptions {
  /** Route path. Default '/healthz'. */
  path?: string
}

/**
 * A router with `GET /healthz`: 200 and the broker's health report while it
 * is running, 503 otherwise, so load balancers and orchestrators can act on it.
 */
export function brokerHealth (broker: BrokerApi, options: HealthOptions = {}): Router {
  const router = Router()
  router.get(options.path ?? '/healthz', (_req: Request, res: Response) => {
    const report = broker.health()
    res.status(report.status === 'ok' ? 200 : 503).json(report)
  })
  return router
}
