import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import { capturePlugin, connackCode, startTestBroker, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import { authFile, parseAclFile, parsePasswordFile, hashPassword, AuthFileError } from '../src/index.js'
import { LineError } from '../src/errors.js'
import { passwordFileText, tempDirs, writePasswordFile } from './support.js'

const temp = tempDirs()

// Every bad input gets a clear error or a refusal, never a crash.

const VALID_HASH = await hashPassword('pw')

function lineError (parse: () => unknown): LineError {
  try {
    parse()
  } catch (err) {
    if (err instanceof LineError) return err
    throw err
  }
  assert.fail('expected a LineError')
}

describe('auth-file bad input', function () {
  this.timeout(30_000)
  after(() => temp.remove())

  describe('malformed password file lines name the line and the reason', () => {
    const cases: Array<[string, string | Buffer, number, RegExp]> = [
      ['a line without a colon', `# users\nanna:${VALID_HASH}\nbob\n`, 3, /expected <username>:<hash>/],
      ['an empty username', `:${VALID_HASH}\n`, 1, /the username is empty/],
      ['whitespace in a username', `an na:${VALID_HASH}\n`, 1, /whitespace/],
      ['a user defined twice', `anna:${VALID_HASH}\n\nanna:${VALID_HASH}\n`, 3, /user "anna" is already defined on line 1/],
      ['a plain-text password', 'anna:hunter2\n', 1, /not a \$scrypt\$ hash \(plain-text passwords are not accepted\)/],
      ['a SHA-512 crypt hash', 'anna:$6$salt$abc\n', 1, /unknown hash format "\$6\$" \(SHA-512 \(a fast hash\)\)/],
      ['a password that looks like a hash prefix (never echoed)', 'anna:$hunter$2\n', 1, /^user "anna": unknown hash format; only \$scrypt\$/],
      ['a bcrypt hash', 'anna:$2b$10$abcdefghijklmnopqrstuv\n', 1, /unknown hash format "\$2b\$" \(bcrypt\)/],
      ['a truncated scrypt hash', 'anna:$scrypt$N=16384,r=8,p=1$c2FsdHNhbHRzYWx0\n', 1, /four \$-separated fields/],
      ['garbled parameters', 'anna:$scrypt$n=16384;r=8$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA\n', 1, /N=<n>,r=<r>,p=<p>/],
      ['N not a power of two', 'anna:$scrypt$N=10000,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA\n', 1, /N must be a power of two/],
      ['parameters too weak', 'anna:$scrypt$N=1024,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA\n', 1, /too weak/],
      ['parameters needing gigabytes', 'anna:$scrypt$N=1048576,r=32,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA\n', 1, /at most 256 MiB/],
      ['a salt that is not base64', 'anna:$scrypt$N=16384,r=8,p=1$not*base64$aGFzaGhhc2hoYXNoaGFzaA\n', 1, /the salt is not base64/],
      ['a hash that is too short', 'anna:$scrypt$N=16384,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA\n', 1, /the hash must be 16 to 64 bytes/],
      ['bytes that are not UTF-8', Buffer.concat([Buffer.from(`anna:${VALID_HASH}\n`), Buffer.from([0x62, 0xff, 0x3a]), Buffer.from(VALID_HASH)]), 2, /not valid UTF-8/]
    ]
    for (const [what, text, line, reason] of cases) {
      it(what, () => {
        const err = lineError(() => parsePasswordFile(Buffer.isBuffer(text) ? text : Buffer.from(text)))
        assert.equal(err.line, line)
        assert.match(err.reason, reason)
      })
    }

    it('accepts comments, blank lines, CRLF endings and a byte order mark', () => {
      const table = parsePasswordFile(Buffer.from(`\uFEFF# comment\r\n\r\n  anna:${VALID_HASH}  \r\n   # indented comment\r\n`))
      assert.deepEqual([...table.keys()], ['anna'])
      assert.equal(table.get('anna')?.line, 3)
    })
  })

  describe('malformed ACL file lines name the line and the reason', () => {
    const cases: Array<[string, string | Buffer, number, RegExp]> = [
      ['an unknown directive', 'user anna\ntopic read a\nacl read b\n', 3, /unknown directive "acl" \(expected user, topic or pattern\)/],
      ['a user line without a name', '\n\nuser\n', 3, /"user" needs a username/],
      ['a topic line without a topic', 'topic\n', 1, /"topic" needs a topic/],
      ['an access without a topic', 'topic read\n', 1, /"topic read" needs a topic after the access/],
      ['a misspelt access', 'pattern reed sensors/%u/#\n', 1, /unknown access "reed"/],
      ['a capitalised keyword', 'Topic read a\n', 1, /unknown directive "Topic"/],
      ['"#" inside a level', 'topic read a/b#\n', 1, /'#' must be a whole level, and the last one/],
      ['"#" before the last level', 'topic read a/#/b\n', 1, /'#' must be a whole level/],
      ['"+" inside a level', 'topic write a/b+/c\n', 1, /'\+' must be a whole level/],
      ['a trailing comment (not supported, and caught)', 'topic read a/b # note\n', 1, /'#' must be a whole level/],
      ['bytes that are not UTF-8', Buffer.from([0x74, 0x6f, 0x70, 0x69, 0x63, 0x20, 0xc3, 0x28, 0x0a]), 1, /not valid UTF-8/],
      ['a NUL character', 'user a\u0000b\n', 1, /NUL/]
    ]
    for (const [what, text, line, reason] of cases) {
      it(what, () => {
        const err = lineError(() => parseAclFile(Buffer.isBuffer(text) ? text : Buffer.from(text)))
        assert.equal(err.line, line)
        assert.match(err.reason, reason)
      })
    }

    it('warns about %u in a topic line (taken literally) without failing', () => {
      const table = parseAclFile(Buffer.from('user anna\ntopic read sensors/%u/#\n'))
      assert.deepEqual(table.warnings, [{ line: 2, message: '"topic sensors/%u/#" is taken literally; %u and %c are only replaced in "pattern" lines' }])
    })

    it('the error a broker start reports is an AuthFileError message naming the file', async () => {
      const dir = await temp.make()
      const aclFile = join(dir, 'acl.conf')
      await writeFile(aclFile, 'topic read ok\ntopic read a/#/b\n')
      await assert.rejects(startTestBroker({ plugins: [authFile({ aclFile })] }), (err: Error) => {
        assert.ok(err.cause instanceof AuthFileError)
        assert.equal(err.cause.file, aclFile)
        assert.equal(err.cause.line, 2)
        return true
      })
    })
  })

  describe('hostile clients', () => {
    let tb: TestBroker
    let passwordFile: string
    const longPassword = Buffer.alloc(65535, 'p')
    before(async () => {
      const dir = await temp.make()
      passwordFile = join(dir, 'passwd')
      await writePasswordFile(passwordFile, { anna: 'anna-pw', long: longPassword, bytes: Buffer.from([0xff, 0x00, 0xfe, 0x80]) })
      tb = await startTestBroker({ plugins: [authFile({ passwordFile, unknownUser: 'deny' })] })
    })
    after(() => tb.stop())

    for (const transport of TEST_TRANSPORTS) {
      it(`over ${transport}: a 64 KiB password is checked like any other`, async () => {
        assert.equal(await connackCode(tb.url(transport), { username: 'anna', password: Buffer.alloc(65535, 'x') }), 4)
        assert.equal(await connackCode(tb.url(transport), { username: 'long', password: longPassword }), 0)
        assert.equal(await connackCode(tb.url(transport), { username: 'long', password: longPassword.subarray(1) }), 4)
      })

      it(`over ${transport}: a password that is not UTF-8 is compared as bytes`, async () => {
        assert.equal(await connackCode(tb.url(transport), { username: 'bytes', password: Buffer.from([0xff, 0x00, 0xfe, 0x80]) }), 0)
        assert.equal(await connackCode(tb.url(transport), { username: 'bytes', password: Buffer.from([0xff, 0x00, 0xfe]) }), 4)
      })

      it(`over ${transport}: a 64 KiB username that is not in the file is refused`, async () => {
        assert.equal(await connackCode(tb.url(transport), { username: 'u'.repeat(65535), password: 'x' }), 5)
      })
    }

    it('a username that is not UTF-8 is refused at the edge and the broker keeps serving', async () => {
      const port = Number(new URL(tb.url('tcp')).port)
      const username = Buffer.from([0x61, 0xff, 0xfe])
      const password = Buffer.from('anna-pw')
      const payload = Buffer.concat([
        Buffer.from([0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([0x04, 0xc2, 0x00, 0x3c]),
        Buffer.from([0x00, 0x02]), Buffer.from('c1'),
        Buffer.from([0x00, username.length]), username,
        Buffer.from([0x00, password.length]), password
      ])
      const packet = Buffer.concat([Buffer.from([0x10, payload.length]), payload])
      const received = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = []
        const socket = net.connect(port, '127.0.0.1', () => socket.write(packet))
        socket.setTimeout(5000, () => { socket.destroy(); reject(new Error('the broker neither answered nor closed within 5 s')) })
        socket.on('data', (d) => chunks.push(d))
        socket.on('error', () => undefined)
        socket.on('close', () => resolve(Buffer.concat(chunks)))
      })
      // Closed without a CONNACK, or with a refusal: never let in.
      if (received.length > 0) {
        assert.equal(received[0], 0x20, 'a CONNACK')
        assert.notEqual(received[3], 0, 'a refusal')
      }
      assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'anna-pw' }), 0, 'the broker still serves')
    })

    it('the authenticator answers hostile inputs directly without throwing', async () => {
      const { authenticators } = await capturePlugin(authFile({ passwordFile }))
      const [auth] = authenticators
      assert.ok(auth)
      const base = { clientId: 'c', connectionId: 'test-connection', protocolVersion: 4, clean: true, keepalive: 0, transport: 'tcp' as const, listener: 't' }
      assert.deepEqual(await auth.authenticate({ ...base }), { outcome: 'next' })
      assert.deepEqual(await auth.authenticate({ ...base, username: '' }), { outcome: 'next' })
      assert.equal((await auth.authenticate({ ...base, username: 'anna', password: Buffer.alloc(0) })).outcome, 'deny')
      assert.equal((await auth.authenticate({ ...base, username: 'anna\uFFFD', password: Buffer.from('anna-pw') })).outcome, 'next')
    })

    it('a login flood beyond maxPendingLogins is refused at once with CONNACK 3, and the checks in progress finish', async () => {
      const { authenticators } = await capturePlugin(authFile({ passwordFile, maxPendingLogins: 2 }))
      const [auth] = authenticators
      assert.ok(auth)
      const input = { clientId: 'c', connectionId: 'test-connection', protocolVersion: 4, clean: true, keepalive: 0, transport: 'tcp' as const, listener: 't', username: 'anna', password: Buffer.from('anna-pw') }
      const answers = await Promise.all([1, 2, 3, 4].map(() => auth.authenticate(input)))
      assert.deepEqual(answers.map(a => a.outcome === 'deny' && 'returnCode' in a ? a.returnCode : a.outcome), ['allow', 'allow', 3, 3])
      assert.equal((await auth.authenticate(input)).outcome, 'allow', 'once they finished, logins are checked again')
    })
  })

  it('a password file with a hash made elsewhere by hashPassword() is accepted', async () => {
    const dir = await temp.make()
    const passwordFile = join(dir, 'passwd')
    await writeFile(passwordFile, await passwordFileText({ anna: 'anna-pw' }))
    const tb = await startTestBroker({ plugins: [authFile({ passwordFile })] })
    try {
      assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'anna-pw' }), 0)
    } finally {
      await tb.stop()
    }
  })
})
