import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** PEM files of a throwaway public key infrastructure, for TLS tests. */
export interface TestPki {
  ca: Buffer
  serverKey: Buffer
  serverCert: Buffer
  clientKey: Buffer
  clientCert: Buffer
}

function openssl (dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/**
 * A throwaway CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate with the given CN, made with the openssl CLI for each test run.
 */
export function makeTestPki (clientCn = 'press-7'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'embedmq-pki-'))
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=embedmq test CA')
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  for (const [name, subject, ext] of [['server', '/CN=localhost', 'server.ext'], ['client', `/CN=${clientCn}`, undefined]] as const) {
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1',
      ...(ext ? ['-extfile', ext] : []))
  }
  const read = (f: string): Buffer => readFileSync(join(dir, f))
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt') }
}
