import { allow, authenticated, deny, next, refuse, type Plugin } from '@embedmq/core'

/** A static user table: the smallest honest authenticator. */
export function staticUsers (users: Record<string, string>): Plugin {
  return {
    name: 'static-users',
    register: (ctx) => ctx.addAuthenticator({
      authenticate: (input) => {
        if (input.username === undefined) return next()
        const expected = users[input.username]
        if (expected === undefined) return next()
        return input.password?.toString() === expected ? authenticated({ username: input.username }) : refuse(4, 'wrong password')
      }
    })
  }
}

/** Each user may publish and read only under sensors/<username>/. */
export function ownSensors (options: { leakReads?: boolean } = {}): Plugin {
  const own = (username: string | undefined, topic: string): boolean => username !== undefined && topic.startsWith(`sensors/${username}/`)
  return {
    name: 'own-sensors',
    register: (ctx) => ctx.addAuthorizer({
      authorizePublish: (client, req) => own(client.identity.username, req.topic) ? allow() : deny(),
      authorizeSubscribe: (client, req) => req.filter === '#' || own(client.identity.username, req.filter) ? allow() : deny(),
      authorizeRead: (client, topic) => options.leakReads || own(client.identity.username, topic) ? allow() : deny()
    })
  }
}
