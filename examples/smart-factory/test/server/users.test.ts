import assert from 'node:assert/strict'
import { hashPassword } from '@embedmq/auth-file'
import { UserStore, usersFromEnv } from '../../src/server/users.js'

describe('dashboard users', () => {
  it('verifies scrypt-hashed passwords, plain or pre-hashed', async () => {
    const store = await UserStore.create([
      { username: 'anna', role: 'operator', password: 'pw' },
      { username: 'bob', role: 'viewer', passwordHash: await hashPassword('secret') }
    ])
    assert.deepEqual(await store.verify('anna', 'pw'), { username: 'anna', role: 'operator' })
    assert.deepEqual(await store.verify('bob', 'secret'), { username: 'bob', role: 'viewer' })
    assert.equal(await store.verify('anna', 'wrong'), undefined)
    assert.equal(await store.verify('nobody', 'pw'), undefined)
  })

  it('reads FACTORY_USERS, with errors that name the problem', () => {
    assert.equal(usersFromEnv(undefined), undefined)
    assert.equal(usersFromEnv(''), undefined)
    assert.deepEqual(usersFromEnv('[{"username":"anna","role":"operator","password":"x"}]'), [{ username: 'anna', role: 'operator', password: 'x' }])
    assert.throws(() => usersFromEnv('{nope'), /FACTORY_USERS is not JSON/)
    assert.throws(() => usersFromEnv('[{"username":"anna","role":"boss","password":"x"}]'), /FACTORY_USERS: 0\.role/)
    assert.throws(() => usersFromEnv('[{"username":"anna","role":"viewer"}]'), /either password or passwordHash/)
    assert.throws(() => usersFromEnv('[{"username":"a/b","role":"viewer","password":"x"}]'), /FACTORY_USERS: 0\.username/)
    assert.throws(() => usersFromEnv('[]'), /FACTORY_USERS/)
  })
})
