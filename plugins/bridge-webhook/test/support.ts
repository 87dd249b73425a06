import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { WebhookEvent } from '../src/index.js'

/** One POST the receiver got. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders
  /** The raw body bytes, as a receiver must verify them. */
  raw: Buffer
  body: { events: WebhookEvent[] }
  /** The status the receiver answered (undefined while held). */
  status?: number
}

/** How the receiver answers a request: a status (with headers), or 'hold' to keep it open until released. */
export type Answer = number | { status: number, headers?: Record<string, string>, body?: string } | 'hold'

export interface Receiver {
  url: string
  requests: ReceivedRequest[]
  /** Decides each answer; the default accepts with 204. */
  respond: (req: ReceivedRequest, index: number) => Answer
  /** Events of accepted (2xx) requests, in arrival order. */
  accepted (): WebhookEvent[]
  /** Answers every held request with `status`. */
  release (status?: number): void
  close (): Promise<void>
}

/** A real HTTP server on an ephemeral loopback port, recording what it receives. */
export async function startReceiver (respond: Receiver['respond'] = () => 204): Promise<Receiver> {
  const held: Array<{ req: ReceivedRequest, res: ServerResponse }> = []
  const receiver: Receiver = {
    url: '',
    requests: [],
    respond,
    accepted () {
      return receiver.requests.filter(r => r.status !== undefined && r.status < 300).flatMap(r => r.body.events)
    },
    release (status = 204) {
      for (const { req, res } of held.splice(0)) {
        if (res.destroyed) continue
        req.status = status
        res.writeHead(status).end()
      }
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const got: ReceivedRequest = { headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) as ReceivedRequest['body'] }
      receiver.requests.push(got)
      const answer = receiver.respond(got, receiver.requests.length - 1)
      if (answer === 'hold') {
        held.push({ req: got, res })
        return
      }
      const { status, headers, body } = typeof answer === 'number' ? { status: answer, headers: {}, body: undefined } : answer
      got.status = status
      res.writeHead(status, headers).end(body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  return receiver
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

export const SECRET = 'test-secret-0123456789abcdef'

/** Retry timing small enough for tests. */
export const FAST_RETRY = { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 50 }
