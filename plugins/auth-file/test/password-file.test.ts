import assert from 'node:assert/strict'
import { chmod, lstat, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AuthFileError, deletePassword, readPasswordFile, setPassword, verifyPassword } from '../src/index.js'
import { tempDirs } from './support.js'

const temp = tempDirs()

describe('password file editing (setPassword, deletePassword)', function () {
  this.timeout(20_000)
  let dir: string
  let file: string
  beforeEach(async () => {
    dir = await temp.make()
    file = join(dir, 'passwd')
  })
  after(() => temp.remove())

  const verify = async (username: string, password: string): Promise<boolean> => {
    const entry = (await readPasswordFile(file)).get(username)
    return entry !== undefined && verifyPassword(password, entry.hash)
  }

  it('creates a missing file with mode 0600, whatever the umask', async () => {
    const umask = process.umask(0o000)
    try {
      assert.equal(await setPassword(file, 'anna', 'anna-pw'), 'added')
    } finally {
      process.umask(umask)
    }
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.match(await readFile(file, 'utf8'), /^anna:\$scrypt\$N=16384,r=8,p=1\$[^$\n]+\$[^$\n]+\n$/)
    assert.equal(await verify('anna', 'anna-pw'), true)
  })

  it('changes a password in place, keeping comments, order and other users', async () => {
    await setPassword(file, 'anna', 'one')
    await setPassword(file, 'bob', 'two')
    const before = await readFile(file, 'utf8')
    await writeFile(file, `# managed by hand\n${before}\n# trailing note\n`)
    assert.equal(await setPassword(file, 'anna', 'three'), 'changed')
    const lines = (await readFile(file, 'utf8')).split('\n')
    assert.equal(lines[0], '# managed by hand')
    assert.match(lines[1] ?? '', /^anna:/)
    assert.equal(lines[2], before.split('\n')[1], "bob's line is untouched")
    assert.equal(lines[4], '# trailing note')
    assert.equal(await verify('anna', 'three'), true)
    assert.equal(await verify('anna', 'one'), false)
    assert.equal(await verify('bob', 'two'), true)
  })

  it('keeps the mode of an existing file, and leaves no temporary files', async () => {
    await setPassword(file, 'anna', 'one')
    await chmod(file, 0o640)
    await setPassword(file, 'anna', 'two')
    assert.equal((await stat(file)).mode & 0o777, 0o640)
    assert.deepEqual(await readdir(dir), ['passwd'])
  })

  it('writes through a symlink, keeping the link', async () => {
    const real = join(dir, 'real-passwd')
    await setPassword(real, 'anna', 'one')
    await symlink(real, file)
    await setPassword(file, 'bob', 'two')
    assert.ok((await lstat(file)).isSymbolicLink())
    assert.deepEqual([...(await readPasswordFile(real)).keys()], ['anna', 'bob'])
  })

  it('deletes a user, and says when there was none', async () => {
    await setPassword(file, 'anna', 'one')
    await setPassword(file, 'bob', 'two')
    assert.equal(await deletePassword(file, 'anna'), true)
    assert.deepEqual([...(await readPasswordFile(file)).keys()], ['bob'])
    assert.equal(await deletePassword(file, 'anna'), false)
    await assert.rejects(deletePassword(join(dir, 'missing'), 'anna'), /password file .*missing: does not exist/)
  })

  it('loses no update when edits to one file run concurrently', async () => {
    const users = ['u1', 'u2', 'u3', 'u4', 'u5']
    await Promise.all(users.map(u => setPassword(file, u, `${u}-pw`)))
    assert.deepEqual([...(await readPasswordFile(file)).keys()].sort(), users)
  })

  it('refuses to rewrite a file it cannot parse, leaving it as it was', async () => {
    const broken = 'anna:not-a-hash\n'
    await writeFile(file, broken)
    await assert.rejects(setPassword(file, 'bob', 'pw'), (err: unknown) => {
      assert.ok(err instanceof AuthFileError)
      assert.equal(err.line, 1)
      assert.match(err.message, /password file .*passwd, line 1: user "anna": it is not a \$scrypt\$ hash/)
      return true
    })
    assert.equal(await readFile(file, 'utf8'), broken)
  })

  it('refuses bad usernames and empty passwords, writing nothing', async () => {
    for (const [username, reason] of [['an:na', /contains ':'/], ['an na', /whitespace/], ['an\tna', /whitespace/], ['', /empty/], ['#anna', /comment/], ['a\u0007', /control character/]] as const) {
      await assert.rejects(setPassword(file, username, 'pw'), reason, JSON.stringify(username))
    }
    await assert.rejects(setPassword(file, 'anna', ''), /the password is empty/)
    await assert.rejects(readFile(file), { code: 'ENOENT' })
  })

  it('accepts unicode usernames', async () => {
    await setPassword(file, 'zoë-🐝', 'pw')
    assert.equal(await verify('zoë-🐝', 'pw'), true)
  })
})
