import assert from 'node:assert/strict'
import { DEFAULT_SCRYPT_PARAMS, formatHash, hashPassword, HashFormatError, parseHash, verifyPassword } from '../src/index.js'

describe('password hashes (scrypt)', () => {
  it('hashes into the self-describing $scrypt$ format with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse')
    const b = await hashPassword('correct horse')
    assert.match(a, /^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    assert.notEqual(a, b, 'salted')
    assert.deepEqual(parseHash(a).params, DEFAULT_SCRYPT_PARAMS)
    assert.equal(formatHash(parseHash(a)), a, 'parse and format round-trip')
  })

  it('verifies the right password and only it', async () => {
    const hash = await hashPassword('correct horse')
    assert.equal(await verifyPassword('correct horse', hash), true)
    assert.equal(await verifyPassword(Buffer.from('correct horse'), hash), true, 'strings are UTF-8 bytes')
    for (const wrong of ['correct horse ', 'Correct horse', '', 'correct hors', 'x'.repeat(65535)]) {
      assert.equal(await verifyPassword(wrong, hash), false, JSON.stringify(wrong.slice(0, 20)))
    }
  })

  it('hashes raw bytes and 64 KiB passwords', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xc3, 0x28])
    assert.equal(await verifyPassword(bytes, await hashPassword(bytes)), true)
    const long = Buffer.alloc(65535, 0x41)
    const hash = await hashPassword(long)
    assert.equal(await verifyPassword(long, hash), true)
    assert.equal(await verifyPassword(long.subarray(0, 65534), hash), false)
  })

  it('verifies hashes with other accepted costs, and refuses to make weak ones', async () => {
    const stronger = await hashPassword('pw', { N: 32768, r: 8, p: 1 })
    assert.match(stronger, /^\$scrypt\$N=32768,r=8,p=1\$/)
    assert.equal(await verifyPassword('pw', stronger), true)
    await assert.rejects(hashPassword('pw', { N: 1024, r: 8, p: 1 }), HashFormatError)
    await assert.rejects(hashPassword('pw', { N: 16384, r: 8, p: 0 }), /p must be from 1 to 16/)
  })

  it('verifyPassword throws HashFormatError for a string that is not a hash', async () => {
    await assert.rejects(verifyPassword('pw', 'pw'), (err: unknown) => err instanceof HashFormatError && /plain-text/.test(err.reason))
  })

  it('keeps the event loop free while hashing', async () => {
    // A timer set before hashing fires before the hash is done: scrypt runs on the thread pool.
    let ticked = false
    const timer = new Promise<void>(resolve => setImmediate(() => { ticked = true; resolve() }))
    const hashing = hashPassword('pw').then(() => ticked)
    await timer
    assert.equal(await hashing, true)
  })
})
