/** The plugin factory: options in, a Plugin that adds one authenticator. */
import type { Plugin } from '@embedmq/core'
import { SessionAuthenticator } from './authenticator.js'
import { sessionAuthOptionsSchema, type SessionAuthOptions, type SessionAuthOptionsInput } from './options.js'

/** The plugin's name in logs, `authenticatedBy` and `dependsOn`. */
export const PLUGIN_NAME = 'auth-session'

/** The longer the core's link timeout is than identifyTimeoutMs, the surer our own, better-logged refusal comes first. */
const LINK_TIMEOUT_SLACK_MS = 1000

/**
 * Logs browsers in on the broker's WebSocket listeners from the host app's
 * own session. Options are validated when the broker starts (a missing
 * `allowedOrigins` fails start-up with EMBEDMQ_PLUGIN_INVALID_OPTIONS).
 *
 *   sessionAuth({ identify: fromExpressSession(sessionMiddleware, s => ...), allowedOrigins: ['https://app.example.com'] })
 */
export function sessionAuth (options: SessionAuthOptionsInput): Plugin<SessionAuthOptions> {
  return {
    name: PLUGIN_NAME,
    options,
    optionsSchema: sessionAuthOptionsSchema,
    register (ctx) {
      ctx.addAuthenticator(new SessionAuthenticator(ctx.options, ctx.logger), {
        priority: ctx.options.priority,
        timeoutMs: ctx.options.identifyTimeoutMs + LINK_TIMEOUT_SLACK_MS
      })
    }
  }
}
