import { readFileSync } from 'node:fs'
import type { PeerCertificate, TlsOptions } from 'node:tls'
import { EmbedmqError } from '../errors.js'

export interface TlsSettings {
  key?: string | Buffer
  keyFile?: string
  cert?: string | Buffer
  certFile?: string
  ca?: string | Buffer
  caFile?: string
  requestCert: boolean
  rejectUnauthorized: boolean
  passphrase?: string
  certificateLogin?: CertificateLogin
}

export type CertificateLogin = 'cn' | 'san:dns' | 'san:email' | 'san:uri'

const SAN_PREFIX: Record<Exclude<CertificateLogin, 'cn'>, string> = { 'san:dns': 'DNS:', 'san:email': 'email:', 'san:uri': 'URI:' }

/**
 * The login name a verified client certificate carries: its subject CN, or
 * its first subjectAltName of the given kind. Undefined when the certificate
 * was not verified or has no such name.
 */
export function certificateName (cert: PeerCertificate | undefined, authorized: boolean, from: CertificateLogin): string | undefined {
  if (!authorized || !cert || Object.keys(cert).length === 0) return undefined
  if (from === 'cn') {
    const cn = cert.subject?.CN
    return typeof cn === 'string' && cn.length > 0 ? cn : undefined
  }
  const prefix = SAN_PREFIX[from]
  const entry = (cert.subjectaltname ?? '').split(/,\s*/).find(e => e.startsWith(prefix))
  return entry ? entry.slice(prefix.length) : undefined
}

function pem (inline: string | Buffer | undefined, file: string | undefined, what: string, listener: string): string | Buffer | undefined {
  if (inline !== undefined) return inline
  if (file === undefined) return undefined
  try {
    return readFileSync(file)
  } catch (err) {
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID', `listener "${listener}": cannot read ${what} file ${file}: ${(err as Error).message}`,
      { listener, field: `${what}File` }, { cause: err })
  }
}

/** Builds Node TLS server options from listener settings, reading PEM files once at start. */
export function tlsServerOptions (settings: TlsSettings, listener: string): TlsOptions {
  const options: TlsOptions = {
    key: pem(settings.key, settings.keyFile, 'key', listener),
    cert: pem(settings.cert, settings.certFile, 'cert', listener),
    requestCert: settings.requestCert,
    rejectUnauthorized: settings.requestCert ? settings.rejectUnauthorized : false,
    minVersion: 'TLSv1.2'
  }
  const ca = pem(settings.ca, settings.caFile, 'ca', listener)
  if (ca !== undefined) options.ca = ca
  if (settings.passphrase !== undefined) options.passphrase = settings.passphrase
  return options
}
