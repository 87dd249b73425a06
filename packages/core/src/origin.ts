/**
 * Browser origins, as the WebSocket `Origin` header carries them:
 * `scheme://host[:port]`, no path, no trailing slash, default ports left out.
 */

/** The canonical form of an allowed origin, or a reason it is not one. */
export function parseOrigin (value: string): { origin: string } | { problem: string } {
  if (value === '*' || value === 'null') return { problem: `"${value}" is not an origin; list each allowed origin (e.g. https://app.example.com)` }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { problem: `"${value}" is not an origin (expected scheme://host[:port], e.g. https://app.example.com)` }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `"${value}": a browser page origin is http:// or https://` }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return { problem: `"${value}" has a path, query or credentials; an origin is only scheme://host[:port]` }
  }
  return { origin: url.origin }
}

/** Canonical form of an Origin header for comparison (lower case, default port dropped); undefined when unparseable. */
export function canonicalOrigin (header: string): string | undefined {
  const parsed = parseOrigin(header)
  return 'origin' in parsed ? parsed.origin : undefined
}
