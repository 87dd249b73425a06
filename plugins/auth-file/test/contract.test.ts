import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describeAuthenticatorContract, describeAuthorizerContract } from '@embedmq/testing'
import { authFile } from '../src/index.js'
import { tempDirs, writePasswordFile } from './support.js'

// The kits every embedmq auth plugin passes, run against real files.
const temp = tempDirs()
const dir = await temp.make()
const passwordFile = join(dir, 'passwd')
const aclFile = join(dir, 'acl.conf')
await writePasswordFile(passwordFile, { anna: 'correct horse', bob: 'battery staple' })
await writeFile(aclFile, [
  '# sensors: each user their own subtree',
  'pattern readwrite sensors/%u/#',
  'user anna',
  'topic read public/#'
].join('\n'))

after(() => temp.remove())

describeAuthenticatorContract('auth-file (unknown users passed on)', {
  plugin: () => authFile({ passwordFile }),
  accepts: [{ username: 'anna', password: 'correct horse' }, { username: 'bob', password: 'battery staple' }],
  rejects: [
    { username: 'anna', password: 'battery staple', returnCode: 4 },
    { username: 'anna', password: 'correct horse ', returnCode: 4 },
    { username: 'anna', returnCode: 4 }
  ],
  defers: [{ username: 'stranger', password: 'whatever' }, {}]
})

describeAuthenticatorContract('auth-file (unknownUser: deny)', {
  plugin: () => authFile({ passwordFile, unknownUser: 'deny' }),
  accepts: [{ username: 'anna', password: 'correct horse' }],
  rejects: [
    { username: 'stranger', password: 'whatever', returnCode: 5 },
    { username: 'anna', password: 'wrong', returnCode: 4 }
  ]
})

describeAuthorizerContract('auth-file ACL', {
  plugin: () => authFile({ aclFile }),
  client: { clientId: 'anna-1', username: 'anna' },
  publish: { allowed: ['sensors/anna/temp'], denied: ['sensors/bob/temp', 'public/news'] },
  subscribe: { allowed: ['sensors/anna/#', 'public/+'], denied: ['sensors/bob/#', 'private/#', '$SYS/broker/uptime'] },
  read: { filter: '#', visible: ['sensors/anna/temp', 'public/news'], hidden: ['sensors/bob/temp', 'private/x'] }
})

describeAuthorizerContract('auth-file password and ACL together', {
  plugin: () => authFile({ passwordFile, aclFile }),
  pluginAuthenticates: true,
  client: { clientId: 'bob-1', username: 'bob', password: 'battery staple' },
  publish: { allowed: ['sensors/bob/temp'], denied: ['sensors/anna/temp'] },
  subscribe: { allowed: ['sensors/bob/+'], denied: ['public/#'] },
  read: { filter: 'sensors/#', visible: ['sensors/bob/temp'], hidden: ['sensors/anna/temp'] }
})
