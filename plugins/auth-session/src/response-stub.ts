/**
 * A stand-in for the HTTP response that session middleware expects. The
 * upgrade request's socket belongs to the WebSocket handshake: nothing may be
 * written to it, so the middleware gets an object that records what it tries
 * (headers, a status, an early end) and sends nothing anywhere. An early end
 * means the middleware answered instead of calling next(): reported, never sent.
 */
import { EventEmitter } from 'node:events'
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http'

export class ResponseStub extends EventEmitter {
  statusCode = 200
  statusMessage = ''
  headersSent = false
  finished = false
  writableEnded = false
  /** Express' per-response locals, for middleware that uses them. */
  locals: Record<string, unknown> = {}
  readonly #headers = new Map<string, OutgoingHttpHeader>()
  /** Called when the middleware ends the response itself instead of calling next(). */
  onEnd: (() => void) | undefined

  setHeader (name: string, value: OutgoingHttpHeader): this { this.#headers.set(name.toLowerCase(), value); return this }
  appendHeader (name: string, value: OutgoingHttpHeader): this {
    const prev = this.#headers.get(name.toLowerCase())
    const list = [prev, value].flat().filter((v): v is string | number => v !== undefined).map(String)
    this.#headers.set(name.toLowerCase(), list)
    return this
  }

  getHeader (name: string): OutgoingHttpHeader | undefined { return this.#headers.get(name.toLowerCase()) }
  getHeaders (): OutgoingHttpHeaders { return Object.fromEntries(this.#headers) }
  getHeaderNames (): string[] { return [...this.#headers.keys()] }
  hasHeader (name: string): boolean { return this.#headers.has(name.toLowerCase()) }
  removeHeader (name: string): void { this.#headers.delete(name.toLowerCase()) }
  writeHead (statusCode: number): this { this.statusCode = statusCode; return this }
  write (): boolean { return true }
  // The few Express response helpers a session or auth middleware may use to answer early.
  status (code: number): this { this.statusCode = code; return this }
  sendStatus (code: number): this { return this.status(code).end() }
  send (): this { return this.end() }
  json (): this { return this.end() }
  redirect (): this { return this.status(302).end() }
  set (name: string, value: OutgoingHttpHeader): this { return this.setHeader(name, value) }
  get (name: string): OutgoingHttpHeader | undefined { return this.getHeader(name) }
  end (): this {
    if (!this.writableEnded) {
      this.writableEnded = this.finished = true
      this.onEnd?.()
    }
    return this
  }
}
