import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '@embedmq/core'
import { retryDelay } from './backoff.js'
import { toWebhookEvent, type QueuedEvent } from './events.js'
import { postOnce, type AttemptOutcome } from './http.js'
import { redactUrl, type EndpointOptions } from './options.js'
import { BoundedQueue, type DropReason } from './queue.js'
import { LineLimiter } from './rate-limit.js'
import { SIGNATURE_HEADER, signBody } from './signature.js'

/** One endpoint's counters, as `stats()` reports them. */
export interface EndpointStats {
  /** Scheme, host and port only (paths often carry tokens). */
  url: string
  /** Events the endpoint accepted (2xx). */
  delivered: number
  /** POSTs the endpoint accepted. */
  batches: number
  /** POSTs that failed (network error, timeout or non-2xx), retried or not. */
  failedAttempts: number
  /** Events given up on: refused with a non-retryable status, or still failing after retry.maxAttempts. */
  failed: number
  /** Events dropped because the queue was full (maxQueue / maxQueueBytes). */
  dropped: number
  /** Events waiting now. */
  queued: number
  /** Events in the batch being sent now. */
  inFlight: number
  /** Events left undelivered when the plugin stopped (flushTimeoutMs passed, or still failing). */
  undelivered: number
  lastError?: string
  lastErrorAt?: string
  lastDeliveredAt?: string
}

/** What the sender needs from its surroundings. */
export interface SenderContext {
  name: string
  options: EndpointOptions
  /** The resolved HMAC secret, if any. */
  secret: string | undefined
  brokerId: string
  logger: Logger
  userAgent: string
}

/** At most one line of each kind (queue full, retrying, given up) per endpoint this often; the rest go to debug. */
const WARN_INTERVAL_MS = 10_000

/**
 * One endpoint's queue and sender. `enqueue` is synchronous and never waits
 * on HTTP: the broker's event handlers call it and return. A single loop per
 * endpoint sends one batch at a time (events arrive in order), so endpoints
 * never wait for each other and a slow one only grows its own bounded queue.
 */
export class EndpointSender {
  readonly #ctx: SenderContext
  readonly #opts: EndpointOptions
  readonly #queue: BoundedQueue<QueuedEvent>
  readonly #log: Logger
  readonly #stop = new AbortController()
  readonly #shownUrl: string
  #stats: EndpointStats
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #waitTimer: NodeJS.Timeout | undefined
  #flushing = false
  #closed = false
  #inFlight = 0
  readonly #dropWarnings = new LineLimiter(WARN_INTERVAL_MS)
  readonly #retryWarnings = new LineLimiter(WARN_INTERVAL_MS)
  readonly #failLines = new LineLimiter(WARN_INTERVAL_MS)
  #failedSinceLine = 0
  #droppedSinceWarn = 0
  #failing = false

  constructor (ctx: SenderContext) {
    this.#ctx = ctx
    this.#opts = ctx.options
    this.#queue = new BoundedQueue(ctx.options.maxQueue, ctx.options.maxQueueBytes, ctx.options.overflow)
    this.#log = ctx.logger.child({ endpoint: ctx.name })
    this.#shownUrl = redactUrl(ctx.options.url)
    this.#stats = { url: this.#shownUrl, delivered: 0, batches: 0, failedAttempts: 0, failed: 0, dropped: 0, queued: 0, inFlight: 0, undelivered: 0 }
  }

  get name (): string { return this.#ctx.name }

  stats (): EndpointStats {
    return { ...this.#stats, queued: this.#queue.length, inFlight: this.#inFlight }
  }

  /** Starts the send loop. */
  start (): void {
    this.#loop ??= this.#run().catch((err: unknown) => {
      // The loop catches per batch; reaching here is a bug, and must not take the broker down.
      this.#log.error({ err }, `webhook endpoint "${this.name}": sender stopped unexpectedly; events are no longer sent`)
    })
  }

  /** Queues an event; synchronous, never throws on a full queue (drops and counts instead). */
  enqueue (event: QueuedEvent): void {
    if (this.#closed) return
    const { dropped, reason } = this.#queue.push(event)
    if (dropped > 0 && reason) this.#noteDropped(dropped, reason)
    if (this.#batchFull() || this.#opts.batch.maxWaitMs === 0) this.#signal()
    else if (this.#queue.length === 1) this.#signal()   // the loop arms the maxWaitMs timer for the new oldest event
  }

  /**
   * Sends what is queued without waiting for batches to fill, for up to
   * `timeoutMs`; then aborts what is in flight and reports what is left.
   */
  async close (timeoutMs: number): Promise<EndpointStats> {
    if (this.#closed) return this.stats()
    this.#closed = true
    this.#flushing = true
    this.#signal()
    const deadline = setTimeout(() => this.#stop.abort(), timeoutMs)
    try {
      await this.#loop
    } finally {
      clearTimeout(deadline)
      this.#stop.abort()
    }
    const left = this.#queue.length + this.#inFlight
    this.#stats.undelivered += left
    this.#queue.take(this.#queue.length)
    this.#inFlight = 0
    const s = this.stats()
    const summary = { ...s, undelivered: left }
    if (left > 0) {
      this.#log.warn(summary, `webhook endpoint "${this.name}" stopped with ${left} events undelivered (flushTimeoutMs ${timeoutMs} ms${s.lastError ? `; last error: ${s.lastError}` : ''}); delivered ${s.delivered}, failed ${s.failed}, dropped ${s.dropped}`)
    } else {
      this.#log.info(summary, `webhook endpoint "${this.name}" stopped with nothing left to send; delivered ${s.delivered}, failed ${s.failed}, dropped ${s.dropped}`)
    }
    return s
  }

  #batchFull (): boolean {
    return this.#queue.length >= this.#opts.batch.maxEvents || this.#queue.bytes >= this.#opts.batch.maxBytes
  }

  #signal (): void {
    const wake = this.#wake
    this.#wake = undefined
    clearTimeout(this.#waitTimer)
    wake?.()
  }

  /** Waits for a signal, or `ms` (forever when undefined). */
  #waitFor (ms: number | undefined): Promise<void> {
    return new Promise(resolve => {
      this.#wake = resolve
      if (ms !== undefined) this.#waitTimer = setTimeout(() => this.#signal(), ms)
    })
  }

  async #run (): Promise<void> {
    const { maxEvents, maxBytes, maxWaitMs } = this.#opts.batch
    while (!this.#stop.signal.aborted) {
      const head = this.#queue.peek()
      if (head === undefined) {
        if (this.#flushing) return
        await this.#waitFor(undefined)
        continue
      }
      const age = performance.now() - head.queuedAt
      if (!this.#flushing && !this.#batchFull() && age < maxWaitMs) {
        await this.#waitFor(maxWaitMs - age)
        continue
      }
      const batch = this.#queue.takeBatch(maxEvents, maxBytes)
      this.#inFlight = batch.length
      if (await this.#deliver(batch) === 'abandoned') return   // stays counted in #inFlight: undelivered
      this.#inFlight = 0
    }
  }

  /**
   * Sends one batch with retries: 'settled' once accepted or given up on (counted),
   * 'abandoned' when the plugin stops for good first.
   */
  async #deliver (batch: QueuedEvent[]): Promise<'settled' | 'abandoned'> {
    const deliveryId = randomUUID()
    const body = JSON.stringify({ events: batch.map(e => toWebhookEvent(e, this.#ctx.brokerId, this.#opts.payloadEncoding)) })
    const { maxAttempts } = this.#opts.retry
    for (let attempt = 1; ; attempt++) {
      const outcome = await postOnce({
        url: this.#opts.url,
        body,
        headers: this.#headers(body, deliveryId, batch.length, attempt),
        timeoutMs: this.#opts.timeoutMs,
        stopSignal: this.#stop.signal
      })
      if (outcome.ok) {
        this.#accepted(batch.length, deliveryId, attempt)
        return 'settled'
      }
      // Aborted by close(): not the endpoint's failure, so it does not count as one.
      if (this.#stop.signal.aborted) return 'abandoned'
      this.#stats.failedAttempts++
      this.#stats.lastError = outcome.reason
      this.#stats.lastErrorAt = new Date().toISOString()
      const fields = { deliveryId, attempt, maxAttempts, events: batch.length, url: this.#shownUrl, status: outcome.status, reason: outcome.reason }
      if (!outcome.retryable) {
        this.#giveUp(batch.length, fields, `was refused (${outcome.reason}); not retried (only network errors, timeouts, 408, 429 and 5xx are). ${batch.length} events dropped: fix the endpoint or its configuration`)
        return 'settled'
      }
      if (attempt >= maxAttempts) {
        this.#giveUp(batch.length, fields, `still failing after ${attempt} attempts (${outcome.reason}); ${batch.length} events dropped (retry.maxAttempts)`)
        return 'settled'
      }
      const delay = retryDelay(this.#opts.retry, attempt, retryAfter(outcome))
      this.#failing = true
      const line = this.#retryWarnings.admit()
      const held = line.log && line.held > 0 ? ` (${line.held} more failed attempts since the last such line)` : ''
      this.#log[line.log ? 'warn' : 'debug']({ ...fields, retryInMs: delay },
        `webhook endpoint "${this.name}" delivery ${deliveryId} attempt ${attempt}/${maxAttempts} failed: ${outcome.reason}; retrying in ${delay} ms${held}`)
      try {
        await sleep(delay, undefined, { signal: this.#stop.signal })
      } catch {
        return 'abandoned'
      }
    }
  }

  #accepted (events: number, deliveryId: string, attempt: number): void {
    this.#stats.delivered += events
    this.#stats.batches++
    this.#stats.lastDeliveredAt = new Date().toISOString()
    if (this.#failing) {
      this.#failing = false
      this.#log.info({ deliveryId, attempt, events }, `webhook endpoint "${this.name}" accepts deliveries again (delivery ${deliveryId} on attempt ${attempt})`)
    }
  }

  #giveUp (events: number, fields: Record<string, unknown>, what: string): void {
    this.#stats.failed += events
    this.#failedSinceLine += events
    this.#failing = true
    // Rate limited too: an endpoint refusing every batch (a wrong token, say) is refused at the rate events arrive.
    const line = this.#failLines.admit()
    if (!line.log) {
      this.#log.debug(fields, `webhook endpoint "${this.name}" delivery ${String(fields.deliveryId)} ${what}`)
      return
    }
    const more = line.held > 0 ? ` (${line.held} more batches given up since the last such line; ${this.#failedSinceLine} events in all)` : ''
    this.#log.error(fields, `webhook endpoint "${this.name}" delivery ${String(fields.deliveryId)} ${what}${more}`)
    this.#failedSinceLine = 0
  }

  #headers (body: string, deliveryId: string, count: number, attempt: number): Record<string, string> {
    const ownUserAgent = Object.keys(this.#opts.headers).some(h => h.toLowerCase() === 'user-agent')
    const headers: Record<string, string> = {
      ...(ownUserAgent ? {} : { 'User-Agent': this.#ctx.userAgent }),
      ...this.#opts.headers,
      'Content-Type': 'application/json',
      'X-Embedmq-Delivery': deliveryId,
      'X-Embedmq-Event-Count': String(count),
      'X-Embedmq-Attempt': String(attempt)
    }
    // Signed per attempt, so the timestamp is fresh for the receiver's replay window.
    if (this.#ctx.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(body, this.#ctx.secret)
    return headers
  }

  #noteDropped (dropped: number, reason: DropReason): void {
    this.#stats.dropped += dropped
    this.#droppedSinceWarn += dropped
    if (!this.#dropWarnings.admit().log) return
    const bound = reason === 'maxQueue' ? `maxQueue ${this.#opts.maxQueue} events` : `maxQueueBytes ${this.#opts.maxQueueBytes}`
    const which = this.#opts.overflow === 'drop-oldest' ? 'oldest' : 'newest'
    const why = this.#stats.lastError ? `last error: ${this.#stats.lastError}` : 'it is not keeping up'
    this.#log.warn({ reason, overflow: this.#opts.overflow, dropped: this.#droppedSinceWarn, droppedTotal: this.#stats.dropped, queued: this.#queue.length, url: this.#shownUrl },
      `webhook endpoint "${this.name}": queue full (${bound}); dropped ${this.#droppedSinceWarn} ${which} events (${this.#stats.dropped} in all). The endpoint is slow or failing (${why})`)
    this.#droppedSinceWarn = 0
  }
}

function retryAfter (outcome: AttemptOutcome): number | undefined {
  return outcome.ok ? undefined : outcome.retryAfterMs
}
