import { isIPv4, isIPv6 } from 'node:net'

/**
 * Whether a URL's host is this machine's loopback interface, where plain
 * http:// never leaves the host: `localhost`, 127.0.0.0/8, ::1 and the
 * IPv4-mapped ::ffff:127.x.y.z. Other names are not resolved: a name can
 * point anywhere, so only a literal loopback address (or `localhost`) counts.
 */
export function isLoopbackUrl (url: URL): boolean {
  const host = url.hostname.toLowerCase()
  if (host === 'localhost') return true
  if (isIPv4(host)) return host.startsWith('127.')
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (!isIPv6(bare)) return false
  if (bare === '::1') return true
  // WHATWG URL writes ::ffff:127.0.0.1 as ::ffff:7f00:1; 7f00–7fff is 127.0.0.0/8.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(bare)
  if (mapped) return (parseInt(mapped[1]!, 16) >> 8) === 0x7f
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)
  return dotted !== null && dotted[1]!.startsWith('127.')
}
