/** Retry timing: exponential backoff with jitter, and the server's Retry-After. */
export interface RetryPolicy {
  maxAttempts: number
  initialDelayMs: number
  maxDelayMs: number
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): "equal
 * jitter" — half of initial·2^(attempt-1), capped at maxDelayMs, plus a random
 * share of the other half, so retries of many brokers do not arrive in step
 * and never come sooner than half the nominal delay.
 */
export function backoffDelay (policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30))
  return Math.round(nominal / 2 + random() * nominal / 2)
}

/**
 * A Retry-After header (delay-seconds or an HTTP date) in milliseconds from
 * now, or undefined when absent or unreadable.
 */
export function parseRetryAfter (value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The wait before the next attempt: the backoff, or longer when the server asked, capped at maxDelayMs. */
export function retryDelay (policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random?: () => number): number {
  const backoff = backoffDelay(policy, attempt, random)
  return Math.min(policy.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0))
}
