import { z } from 'zod'
import { topicFilterProblem, type ConnackRefusal } from '@embedmq/core'

/**
 * The response contract, in one place:
 * - HTTP 200 with a JSON body `{ "result": "allow" | "deny" | "ignore", … }` is a decision;
 * - 401 is a deny (CONNACK 4 for a login), 403 and the other 4xx a deny (CONNACK 5);
 * - 5xx, 408 and 429 are failures: the service could not decide (the `onError` outcome);
 * - anything else (other 1xx–3xx, a 200 whose body is not that JSON, a body over the size limit)
 *   is malformed: deny, logged so someone fixes the service.
 */

/** What the service decided. */
export type Verdict = 'allow' | 'deny' | 'ignore'

/** A decision the service made; decisions are cached (by verdict, with separate TTLs). */
export interface Decision {
  result: Verdict
  /** The username the client gets (login only). */
  username?: string
  /** Roles granted at login; other authorizers can read them. */
  roles?: string[]
  /** Free-form claims attached to the client's identity at login. */
  claims?: Record<string, unknown>
  /** Topic filters the client may read without a per-topic request (login and subscribe answers). */
  read?: string[]
  /** CONNACK code for a denied login. */
  returnCode?: ConnackRefusal
  /** What the decision came from, for logs: `body`, `HTTP 401`… */
  source: string
}

/** The outcome of one exchange with the service. */
export type Reply =
  | { kind: 'decision', decision: Decision }
  /** The service answered but not per the contract: deny, never cached. */
  | { kind: 'malformed', reason: string }
  /** The service could not decide (down, slow, 5xx): the onError outcome, never cached. `stopping`: aborted by the plugin's stop, not worth an error line. */
  | { kind: 'failure', reason: string, stopping?: boolean }

const filter = z.string().superRefine((value, ctx) => {
  const problem = topicFilterProblem(value)
  if (problem) ctx.addIssue({ code: 'custom', message: `"${value.slice(0, 80)}" is not a topic filter: it ${problem}` })
})

/** The 200 body. Unknown fields are ignored, so a service may send more than the plugin reads. */
export const decisionBody = z.object({
  result: z.enum(['allow', 'deny', 'ignore']),
  username: z.string().optional(),
  roles: z.array(z.string()).optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  read: z.array(filter).optional(),
  returnCode: z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(5)]).optional()
})

/** Turns a 200 body's text into a decision, or says why it is malformed. */
export function parseDecision (text: string): Reply {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return { kind: 'malformed', reason: `the body is not JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 80))}` }
  }
  const parsed = decisionBody.safeParse(json)
  if (!parsed.success) {
    const issues = parsed.error.issues.map(i => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ')
    return { kind: 'malformed', reason: `the body does not match {"result":"allow"|"deny"|"ignore", …}: ${issues}` }
  }
  const { result, username, roles, claims, read, returnCode } = parsed.data
  return {
    kind: 'decision',
    decision: {
      result,
      ...(username === undefined ? {} : { username }),
      ...(roles === undefined ? {} : { roles }),
      ...(claims === undefined ? {} : { claims }),
      ...(read === undefined ? {} : { read }),
      ...(returnCode === undefined ? {} : { returnCode }),
      source: 'body'
    }
  }
}

/** What a status other than 200 means; undefined for 200 (read the body). */
export function classifyStatus (status: number): Reply | undefined {
  if (status === 200) return undefined
  if (status === 401) return { kind: 'decision', decision: { result: 'deny', returnCode: 4, source: 'HTTP 401' } }
  if (status === 408 || status === 429) return { kind: 'failure', reason: `HTTP ${status}` }
  if (status >= 400 && status < 500) return { kind: 'decision', decision: { result: 'deny', returnCode: 5, source: `HTTP ${status}` } }
  if (status >= 500) return { kind: 'failure', reason: `HTTP ${status}` }
  const hint = status >= 300 && status < 400 ? ' (redirects are not followed: they could carry passwords to another host)' : ''
  return { kind: 'malformed', reason: `unexpected HTTP ${status}${hint}; the contract is HTTP 200 with a JSON body` }
}
