import { allow, authenticated, deny, next, proceed, type Plugin } from '@embedmq/core'
import { BENCH_PASSWORD, BENCH_USERNAME, TOPIC_PREFIX } from './protocol.js'

const expectedPassword = Buffer.from(BENCH_PASSWORD)

/**
 * The chain of three plugins embedmq runs with in every scenario, so the
 * comparison includes what a production embedding pays for: authentication
 * on CONNECT, an ACL check on every PUBLISH/SUBSCRIBE (through the broker's
 * default authorization cache), and a publish interceptor plus connection
 * listener on the hot path.
 */
export function benchPlugins (): Plugin[] {
  const counts = { connects: 0, disconnects: 0, publishes: 0 }
  const auth: Plugin = {
    name: 'bench-auth',
    register (ctx) {
      ctx.addAuthenticator({
        authenticate: (input) => input.username === BENCH_USERNAME && input.password?.equals(expectedPassword) === true
          ? authenticated({ username: input.username })
          : next()
      })
    }
  }
  const acl: Plugin = {
    name: 'bench-acl',
    dependsOn: ['bench-auth'],
    register (ctx) {
      ctx.addAuthorizer({
        authorizePublish: (_client, req) => (req.topic.startsWith(TOPIC_PREFIX) ? allow() : deny(`publish outside ${TOPIC_PREFIX}`)),
        authorizeSubscribe: (_client, req) => (req.filter.startsWith(TOPIC_PREFIX) ? allow() : deny(`subscription outside ${TOPIC_PREFIX}`))
      })
    }
  }
  const stats: Plugin = {
    name: 'bench-stats',
    dependsOn: ['bench-acl'],
    register (ctx) {
      ctx.addConnectionListener({
        onConnect: () => { counts.connects++ },
        onDisconnect: () => { counts.disconnects++ }
      })
      ctx.addPublishInterceptor({
        intercept: () => {
          counts.publishes++
          return proceed()
        }
      })
    }
  }
  return [auth, acl, stats]
}
