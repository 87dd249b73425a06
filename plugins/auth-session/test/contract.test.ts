/**
 * The testing kits' contracts, with a generic identify (a cookie → user
 * table): session logins over WebSocket, next() for TCP, hostile inputs, and
 * the session's identity driving an authorizer (`sensors/%u/#`).
 */
import type { IncomingMessage } from 'node:http'
import type mqtt from 'mqtt'
import { allow, deny, type Plugin } from '@embedmq/core'
import { describeAuthenticatorContract, describeAuthorizerContract } from '@embedmq/testing'
import { sessionAuth, sessionAuthOptionsSchema, type SessionAuthOptionsInput } from '../src/index.js'

const ORIGIN = 'https://app.example.com'
const SESSIONS: Record<string, { username: string, roles: string[] }> = { 'anna-token': { username: 'anna', roles: ['operator'] } }

/** The app's own "who is logged in": the `sid` cookie looked up in a session table. */
const identify = (req: IncomingMessage): { username: string, roles: string[] } | undefined => {
  const sid = (req.headers.cookie ?? '').split(';').map(c => c.trim()).find(c => c.startsWith('sid='))?.slice(4)
  return sid === undefined ? undefined : SESSIONS[sid]
}
const browser = (cookie?: string, origin = ORIGIN): mqtt.IClientOptions =>
  ({ wsOptions: { headers: { Origin: origin, ...(cookie === undefined ? {} : { Cookie: cookie }) } } })
const plugin = (options: Partial<SessionAuthOptionsInput> = {}): Plugin => sessionAuth({ identify, allowedOrigins: [ORIGIN], ...options }) as Plugin

describeAuthenticatorContract('auth-session over WebSocket', {
  plugin: () => plugin(),
  transports: ['ws'],
  accepts: [
    { options: browser('sid=anna-token') },
    { options: browser('theme=dark; sid=anna-token') },
    { username: 'mallory', password: 'ignored', options: browser('sid=anna-token') },
    { options: { wsOptions: { headers: { Cookie: 'sid=anna-token' } } } } // no Origin: not a browser
  ],
  rejects: [
    { returnCode: 5, options: browser() },
    { returnCode: 5, options: browser('sid=stolen-guess') },
    { returnCode: 5, username: 'anna', password: 'anna-pw', options: browser() },
    { returnCode: 5, options: browser('sid=anna-token', 'https://evil.example') }
  ]
})

describeAuthenticatorContract("auth-session with onNoSession 'next'", {
  plugin: () => plugin({ onNoSession: 'next' }),
  transports: ['ws'],
  accepts: [{ options: browser('sid=anna-token') }],
  rejects: [{ returnCode: 5, options: browser('sid=anna-token', 'null') }],
  defers: [{ options: browser() }, { username: 'device', password: 'x', options: browser('sid=unknown') }]
})

describeAuthenticatorContract('auth-session leaves TCP alone', {
  plugin: () => plugin(),
  transports: ['tcp'],
  accepts: [],
  rejects: [],
  defers: [{}, { username: 'anna', password: 'anna-pw' }]
})

/**
 * Session login plus a Mosquitto-style pattern ACL on the identity's username:
 * the authorizer sees the session user, not what CONNECT said.
 */
function sessionWithAcl (): Plugin {
  const inner = plugin()
  return {
    name: 'session-with-acl',
    register (ctx) {
      const parsed = sessionAuthOptionsSchema.parse(inner.options)
      void inner.register({ ...ctx, options: parsed })
      const own = (username: string | undefined, topic: string): boolean => username !== undefined && topic.startsWith(`sensors/${username}/`)
      ctx.addAuthorizer({
        authorizePublish: (client, req) => (own(client.identity.username, req.topic) ? allow() : deny('not your sensors')),
        authorizeSubscribe: (client, req) => (own(client.identity.username, req.filter) || req.filter === '#' ? allow() : deny('not your sensors')),
        authorizeRead: (client, topic) => (own(client.identity.username, topic) ? allow() : deny('not your sensors'))
      })
    }
  }
}

describeAuthorizerContract('a session identity under sensors/%u/#', {
  plugin: sessionWithAcl,
  pluginAuthenticates: true,
  transports: ['ws'],
  client: { clientId: 'anna-page', username: 'bob', options: browser('sid=anna-token') },
  publish: { allowed: ['sensors/anna/temp'], denied: ['sensors/bob/temp', 'sensors/annabel/temp'] },
  subscribe: { allowed: ['sensors/anna/#'], denied: ['sensors/bob/#', 'sensors/+/temp'] },
  read: { filter: '#', visible: ['sensors/anna/temp', 'sensors/anna/humidity'], hidden: ['sensors/bob/temp', 'sensors/annabel/temp', 'other/topic'] }
})
