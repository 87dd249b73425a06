/**
 * Browser origins: parsing the allowlist and checking a request's Origin
 * header against it (the Cross-Site WebSocket Hijacking guard).
 */

/**
 * Normalizes a configured origin to what browsers send (`scheme://host[:port]`,
 * lower case, default port left out), or explains why it is not one.
 */
export function parseAllowedOrigin (value: string): { origin: string } | { problem: string } {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { problem: `"${value}" is not an origin: give scheme://host[:port], e.g. https://app.example.com` }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { problem: `"${value}" is not an http(s) origin: pages are served over http or https, e.g. https://app.example.com` }
  }
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return { problem: `"${value}" has more than an origin: give only scheme://host[:port] (no path, query or credentials), e.g. ${url.origin}` }
  }
  return { origin: url.origin }
}

/** Serializes a request's Origin header like a browser would, or undefined when it is not an http(s) origin. */
function normalizeOriginHeader (header: string): string | undefined {
  try {
    const url = new URL(header)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined
  } catch {
    return undefined
  }
}

/** Decides, for one upgrade request, whether its page may use session login. */
export class OriginAllowlist {
  readonly #allowed: ReadonlySet<string>

  /** `origins` must already be normalized by parseAllowedOrigin (the options schema does it). */
  constructor (origins: readonly string[]) {
    this.#allowed = new Set(origins)
  }

  /**
   * True for an allowed origin, and for a request without an Origin header:
   * browsers always send one on WebSocket upgrades and pages cannot remove or
   * forge it, so a request without one is not a browser riding a victim's
   * cookies (it is a device, a CLI tool or a server holding the cookie itself).
   * `null` origins (sandboxed frames, file: pages) and malformed headers are refused.
   */
  allows (header: string | undefined): boolean {
    if (header === undefined) return true
    const origin = normalizeOriginHeader(header)
    return origin !== undefined && this.#allowed.has(origin)
  }
}
