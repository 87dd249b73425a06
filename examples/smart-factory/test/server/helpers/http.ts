/** Small HTTP helpers for tests: log in with the JSON form of POST /login and call the API with the session cookie. */
export async function login (base: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  if (res.status !== 200) throw new Error(`login as ${username} answered ${res.status}: ${await res.text()}`)
  const cookie = res.headers.get('set-cookie')
  if (!cookie) throw new Error('login set no cookie')
  return cookie.split(';')[0]!
}

export async function api (base: string, path: string, options: { cookie?: string, method?: string, body?: unknown, origin?: string } = {}): Promise<{ status: number, body: Record<string, unknown> }> {
  const headers: Record<string, string> = {}
  if (options.cookie) headers.cookie = options.cookie
  if (options.origin) headers.origin = options.origin
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, { method: options.method ?? 'GET', headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) })
  const text = await res.text()
  let body: Record<string, unknown>
  try { body = JSON.parse(text) as Record<string, unknown> } catch { body = { text } }
  return { status: res.status, body }
}
