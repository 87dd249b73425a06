import { readBounded, discardBody } from './bounded-body.js'
import { Gate } from './gate.js'
import { classifyStatus, parseDecision, type Reply } from './reply.js'

/** Where and how to send one kind of request. */
export interface Endpoint {
  url: string
  method: 'POST' | 'PUT'
  /** All headers to send, already merged (top-level, then the endpoint's own). */
  headers: Record<string, string>
}

export interface ExchangeLimits {
  timeoutMs: number
  maxResponseBytes: number
  maxConcurrentRequests: number
}

class Stopping extends Error {}

/** A network error's cause, in words a person can act on. */
function describeError (err: unknown): string {
  const cause = (err as { cause?: { code?: unknown, message?: unknown } }).cause
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  const message = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : (err as Error).message
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): is the service running?'
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message
}

/**
 * Sends JSON to an endpoint with Node's fetch and turns whatever happens into
 * a Reply: never throws. Every request is bounded by `timeoutMs` (slot wait,
 * connect, headers and body), reads at most `maxResponseBytes`, never follows
 * redirects, and is aborted when the plugin stops.
 */
export class HttpExchange {
  readonly #gate: Gate
  readonly #inFlight = new Set<AbortController>()

  constructor (private readonly limits: ExchangeLimits) {
    this.#gate = new Gate(limits.maxConcurrentRequests)
  }

  async send (endpoint: Endpoint, body: unknown): Promise<Reply> {
    const stop = new AbortController()
    this.#inFlight.add(stop)
    const signal = AbortSignal.any([AbortSignal.timeout(this.limits.timeoutMs), stop.signal])
    let release: (() => void) | undefined
    try {
      release = await this.#gate.enter(signal)
      const response = await fetch(endpoint.url, {
        method: endpoint.method,
        headers: { ...endpoint.headers, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal
      })
      const byStatus = classifyStatus(response.status)
      if (byStatus !== undefined) {
        await discardBody(response)
        return byStatus
      }
      const text = await readBounded(response, this.limits.maxResponseBytes)
      return text.ok ? parseDecision(text.text) : { kind: 'malformed', reason: text.reason }
    } catch (err) {
      if (stop.signal.aborted) return { kind: 'failure', reason: 'the plugin is stopping', stopping: true }
      if (signal.aborted) return { kind: 'failure', reason: `no complete answer within timeoutMs (${this.limits.timeoutMs} ms)` }
      return { kind: 'failure', reason: describeError(err) }
    } finally {
      release?.()
      this.#inFlight.delete(stop)
    }
  }

  /** Aborts every request in flight; they resolve as failures. */
  close (): void {
    for (const controller of this.#inFlight) controller.abort(new Stopping('plugin stopping'))
    this.#inFlight.clear()
  }
}
