// The @embedmq/testing contract kits, run against the plugin with real tokens.
import { describeAuthenticatorContract, describeAuthorizerContract } from '@embedmq/testing'
import { jwtAuth } from '../src/index.js'
import { hs, keyPair, SECRET, sign } from './helpers.js'

const acl = { pub: ['sensors/%u/#'], sub: ['sensors/%u/#'] }
const valid = await hs({ sub: 'anna', acl })
const expired = await hs({ sub: 'anna' }, { expIn: -60 })
const notYet = await hs({ sub: 'anna' }, { nbfIn: 600 })
const wrongSecret = await sign({ sub: 'anna' }, new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'), { alg: 'HS256' })
const rsa = await keyPair('RS256')
const rsSigned = await sign({ sub: 'anna' }, rsa.privateKey, { alg: 'RS256' })
const noneToken = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'anna', exp: 9999999999 })).toString('base64url')}.`

const hsPlugin = () => jwtAuth({ algorithms: ['HS256'], secret: SECRET, clockToleranceSeconds: 0 })

describeAuthenticatorContract('auth-jwt (HS256, token in the password)', {
  plugin: hsPlugin,
  accepts: [
    { username: 'anna', password: valid },
    { username: 'ignored-by-default', password: valid }
  ],
  rejects: [
    { username: 'anna', password: expired, returnCode: 4 },
    { username: 'anna', password: notYet, returnCode: 4 },
    { username: 'anna', password: wrongSecret, returnCode: 4 },
    { username: 'anna', password: rsSigned, returnCode: 4 },
    { username: 'anna', password: noneToken, returnCode: 4 },
    { username: 'anna', password: 'not a jwt', returnCode: 4 },
    { username: 'anna', password: Buffer.from([0xff, 0xfe, 0x00, 0x80]), returnCode: 4 },
    { username: 'anna', password: 'a'.repeat(9000), returnCode: 4 }
  ],
  defers: [{}, { username: 'stranger' }]
})

describeAuthenticatorContract('auth-jwt (bearer token on the WebSocket upgrade)', {
  plugin: hsPlugin,
  transports: ['ws'],
  accepts: [{ options: { wsOptions: { headers: { Authorization: `Bearer ${valid}` } } } }],
  rejects: [
    { options: { wsOptions: { headers: { Authorization: `Bearer ${expired}` } } }, returnCode: 4 },
    { options: { wsOptions: { headers: { Authorization: `Bearer ${noneToken}` } } }, returnCode: 4 }
  ],
  defers: [{ options: { wsOptions: { headers: { Authorization: 'Basic YW5uYTpwdw==' } } } }]
})

describeAuthorizerContract('auth-jwt ACL claims (sensors/%u/#)', {
  plugin: hsPlugin,
  pluginAuthenticates: true,
  client: { clientId: 'anna-1', username: 'anna', password: valid },
  publish: { allowed: ['sensors/anna/temp', 'sensors/anna/room/1/hum'], denied: ['sensors/bob/temp', 'alarms/all', 'sensors/annabel/x'] },
  subscribe: { allowed: ['sensors/anna/#', 'sensors/anna/+/temp', '#', 'sensors/+/temp'], denied: ['sensors/bob/#', 'alarms/+', 'sensors/bob/temp', '$SYS/#'] },
  read: { filter: '#', visible: ['sensors/anna/temp', 'sensors/anna/hum', 'sensors/anna'], hidden: ['sensors/bob/temp', 'alarms/all', 'sensors/annabel/temp'] }
})

describeAuthorizerContract('auth-jwt ACL claims granting $SYS explicitly', {
  plugin: hsPlugin,
  pluginAuthenticates: true,
  client: { clientId: 'ops-1', username: 'ops', password: await hs({ sub: 'ops', acl: { pub: [], sub: ['$SYS/#', 'sensors/#'] } }) },
  subscribe: { allowed: ['$SYS/#', 'sensors/#'], denied: ['alarms/#', 'alarms/x'] },
  sys: 'open'
})
