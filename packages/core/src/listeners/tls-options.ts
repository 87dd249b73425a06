import { readFileSync } from 'node:fs'
import type { TlsOptions } from 'node:tls'
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
