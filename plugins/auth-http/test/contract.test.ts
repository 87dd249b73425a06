import { describeAuthenticatorContract, describeAuthorizerContract } from '@embedmq/testing'
import { authHttp } from '../src/index.js'
import { AuthService, policy } from './auth-service.js'

/**
 * The contracts every embedmq auth plugin passes, with a real HTTP service
 * behind the plugin and real mqtt.js clients over TCP and WebSocket.
 */
describe('auth-http passes the plugin contracts', function () {
  let service: AuthService
  before(async () => { service = await AuthService.start(policy({ loginRead: true, subscribeRead: true })) })
  after(async () => { await service.close() })

  describeAuthenticatorContract('auth-http', {
    plugin: () => authHttp({ authenticate: service.url('/auth') }),
    accepts: [{ username: 'anna', password: 'secret' }, { username: 'bob', password: 'builder', clientId: 'bob-1' }],
    rejects: [
      { username: 'anna', password: 'wrong', returnCode: 4 },
      { username: 'mallory', password: 'secret', returnCode: 4 },
      { returnCode: 4 }
    ],
    defers: [{ username: 'stranger', password: 'anything' }]
  })

  // Login and ACL both over HTTP: the login answer's read grants keep `#` to the user's own topics.
  describeAuthorizerContract('auth-http (login grants)', {
    plugin: () => authHttp({ authenticate: service.url('/auth'), authorize: service.url('/acl') }),
    pluginAuthenticates: true,
    client: { clientId: 'anna-1', username: 'anna', password: 'secret' },
    publish: { allowed: ['sensors/anna/temp'], denied: ['sensors/bob/temp', 'sensors/annabel/temp', 'sensors'] },
    subscribe: { allowed: ['sensors/anna/#', 'sensors/anna/temp', '#'], denied: ['sensors/bob/#', 'sensors/bob/temp'] },
    read: { filter: '#', visible: ['sensors/anna/temp', 'sensors/anna/a/b'], hidden: ['sensors/bob/temp', 'other', 'sensors/annabel/x'] }
  })

  // ACL only (another plugin logs clients in): the subscribe answer's read grants do the same job.
  describeAuthorizerContract('auth-http (subscription grants)', {
    plugin: () => authHttp({ authorize: service.url('/acl') }),
    client: { clientId: 'anna-2', username: 'anna' },
    publish: { allowed: ['sensors/anna/temp'], denied: ['sensors/bob/temp'] },
    subscribe: { allowed: ['sensors/anna/#'], denied: ['sensors/bob/#'] },
    read: { filter: 'sensors/+/temp', visible: ['sensors/anna/temp'], hidden: ['sensors/bob/temp'] }
  })
})
