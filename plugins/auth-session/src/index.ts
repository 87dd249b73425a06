/**
 * @embedmq/auth-session: MQTT over WebSocket logins from the host app's own
 * session, so a logged-in web user needs no second password.
 *
 *   const sessionMiddleware = session({ secret, store, cookie: { sameSite: 'lax' } })
 *   createBroker({ plugins: [sessionAuth({
 *     identify: fromExpressSession(sessionMiddleware, s => s.user ? { username: s.user.name } : undefined),
 *     allowedOrigins: ['https://app.example.com']
 *   })] })
 */
import { sessionAuth } from './plugin.js'

export { sessionAuth, PLUGIN_NAME } from './plugin.js'
export { fromExpressSession, loadSession, type ExpressSessionLike, type SessionMiddleware, type SessionToIdentity } from './express-session.js'
export { sessionAuthOptionsSchema, type Identify, type IdentifyResult, type OnNoSession, type SessionAuthOptions, type SessionAuthOptionsInput } from './options.js'
export { checkIdentity, type IdentityCheck, type SessionIdentity } from './identity.js'
export { OriginAllowlist, parseAllowedOrigin } from './origin.js'
export { SessionAuthenticator } from './authenticator.js'
export default sessionAuth
