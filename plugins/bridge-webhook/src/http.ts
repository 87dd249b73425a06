import { parseRetryAfter } from './backoff.js'

/** What one POST came to. */
export type AttemptOutcome =
  | { ok: true, status: number }
  | {
    ok: false
    /** Network errors, timeouts, 408, 429 and 5xx are worth another attempt; other answers are not. */
    retryable: boolean
    status?: number
    retryAfterMs?: number
    /** For the log line: the status and the start of the response body, or the network error. */
    reason: string
  }

export interface PostRequest {
  url: string
  body: string
  headers: Record<string, string>
  timeoutMs: number
  /** Aborts the request when the plugin stops for good. */
  stopSignal: AbortSignal
}

const SNIPPET_BYTES = 256

/**
 * POSTs once. Never throws: every failure becomes an outcome. Redirects are
 * not followed (a webhook URL that moved is a configuration error to fix, and
 * following would resend a signed body elsewhere).
 */
export async function postOnce (req: PostRequest): Promise<AttemptOutcome> {
  // One controller per request, not AbortSignal.any([timeout, stop]): on Node 20 each any() call
  // leaves a dependant on the long-lived stop signal (nodejs/node#55351), a leak per request.
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new DOMException('request timed out', 'TimeoutError')), req.timeoutMs)
  const onStop = (): void => controller.abort(new DOMException('plugin stopping', 'AbortError'))
  if (req.stopSignal.aborted) onStop()
  else req.stopSignal.addEventListener('abort', onStop, { once: true })
  try {
    return await attempt(req, controller.signal)
  } finally {
    clearTimeout(timer)
    req.stopSignal.removeEventListener('abort', onStop)
  }
}

async function attempt (req: PostRequest, signal: AbortSignal): Promise<AttemptOutcome> {
  let res: Response
  try {
    res = await fetch(req.url, { method: 'POST', body: req.body, headers: req.headers, redirect: 'manual', signal })
  } catch (err) {
    return { ok: false, retryable: true, reason: describeError(err, req) }
  }
  let snippet: string
  try {
    snippet = await readSnippet(res)
  } catch (err) {
    // The status is known; a body that failed to arrive does not change it, unless it was the deadline.
    if (res.ok) return { ok: true, status: res.status }
    snippet = `(body unread: ${describeError(err, req)})`
  }
  if (res.ok) return { ok: true, status: res.status }
  const status = res.status
  const retryable = status === 408 || status === 429 || status >= 500
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'))
  const what = status >= 300 && status < 400 ? ` (redirect to ${res.headers.get('location') ?? '?'} not followed)` : ''
  return {
    ok: false,
    retryable,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    reason: `HTTP ${status}${what}${snippet ? `: ${snippet}` : ''}`
  }
}

/** The first bytes of the response body, as text on one line; the rest is discarded (and the connection freed). */
async function readSnippet (res: Response): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    while (total < SNIPPET_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      total += value.length
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
  const text = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8').replace(/\s+/g, ' ').trim()
  return total > SNIPPET_BYTES ? `${text}…` : text
}

function describeError (err: unknown, req: PostRequest): string {
  if (!(err instanceof Error)) return String(err)
  if (err.name === 'TimeoutError') return `no response within timeoutMs (${req.timeoutMs} ms)`
  if (err.name === 'AbortError') return 'aborted: the plugin is stopping'
  // undici reports "fetch failed" with the socket error as its cause.
  const cause = (err as { cause?: unknown }).cause
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message
  }
  return err.message
}
