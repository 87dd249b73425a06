import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { topicMatches } from '@embedmq/core'

/**
 * A real HTTP auth service on an ephemeral loopback port, playing the part of
 * the service the plugin delegates to. It records every request, so tests can
 * count them (caching, coalescing), and its handler can be swapped to make it
 * fail, hang, redirect or answer garbage.
 */

export interface ServiceRequest {
  path: string
  method: string
  headers: http.IncomingHttpHeaders
  body: Record<string, unknown>
}

export type Handler = (request: ServiceRequest, res: http.ServerResponse) => void | Promise<void>

export function json (res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export class AuthService {
  readonly requests: ServiceRequest[] = []
  readonly #sockets = new Set<Socket>()

  private constructor (private readonly server: http.Server, public handler: Handler) {
    server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  static async start (handler: Handler): Promise<AuthService> {
    const server = http.createServer()
    const service = new AuthService(server, handler)
    server.on('request', (req, res) => { void service.#serve(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    return service
  }

  get port (): number {
    return (this.server.address() as AddressInfo).port
  }

  url (path: string): string {
    return `http://127.0.0.1:${this.port}${path}`
  }

  /** Requests to `path` (optionally those whose body matches). */
  count (path: string, match: (body: Record<string, unknown>) => boolean = () => true): number {
    return this.requests.filter(r => r.path === path && match(r.body)).length
  }

  async #serve (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
    } catch {
      // The plugin always sends JSON; a test that breaks that sees an empty body here.
    }
    const request: ServiceRequest = { path: req.url ?? '/', method: req.method ?? '', headers: req.headers, body }
    this.requests.push(request)
    try {
      await this.handler(request, res)
    } catch (err) {
      if (!res.headersSent) json(res, 500, { error: (err as Error).message })
    }
  }

  /** Stops listening and drops every open connection (kept-alive, hanging or streaming). */
  async close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

export interface PolicyOptions {
  /** Logins that succeed. */
  users?: Record<string, string>
  /** Give `read: ['sensors/<user>/#']` in login answers. */
  loginRead?: boolean
  /** Give `read: ['sensors/<user>/#']` in answers to allowed subscriptions. */
  subscribeRead?: boolean
}

/**
 * The service's default policy, Mosquitto-style: anna/secret and bob/builder
 * log in, "stranger" is ignored (next), anything else denied; each user may
 * publish, subscribe and read `sensors/<username>/#`, may subscribe to `#`
 * and `sensors/+/temp` (reads still limited), and nothing under `$SYS`.
 */
export function policy (options: PolicyOptions = {}): Handler {
  const users = options.users ?? { anna: 'secret', bob: 'builder' }
  return (request, res) => {
    const b = request.body
    const own = `sensors/${String(b.username)}/#`
    if (request.path === '/auth') {
      if (b.username === 'stranger') return json(res, 200, { result: 'ignore' })
      const known = typeof b.username === 'string' && Object.hasOwn(users, b.username)
      if (known && b.passwordEncoding === 'utf8' && users[b.username as string] === b.password) {
        return json(res, 200, { result: 'allow', roles: ['device'], claims: { tenant: 'acme' }, ...(options.loginRead ? { read: [own] } : {}) })
      }
      return json(res, 200, { result: 'deny' })
    }
    if (request.path === '/acl') {
      const topic = String(b.topic)
      if (topic.startsWith('$')) return json(res, 200, { result: 'deny' })
      const allowed = topicMatches(own, topic) || (b.action === 'subscribe' && (topic === '#' || topic === 'sensors/+/temp'))
      if (!allowed) return json(res, 200, { result: 'deny' })
      return json(res, 200, { result: 'allow', ...(options.subscribeRead && b.action === 'subscribe' ? { read: [own] } : {}) })
    }
    json(res, 404, { error: 'no such endpoint' })
  }
}
