/**
 * A bare WebSocket upgrade with node:http: what status the server answers
 * (101, 403, 404, 431…), before any MQTT byte. No WebSocket library needed.
 */
import http from 'node:http'
import { randomBytes } from 'node:crypto'

/** Sends an upgrade request to `url` (ws://host:port/path) and resolves to the HTTP status the server answered. */
export function upgradeStatus (url: string, headers: Record<string, string> = {}): Promise<number> {
  const target = new URL(url.replace(/^ws/, 'http'))
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'mqtt',
        ...headers
      },
      timeout: 5000
    })
    req.once('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 0) })
    req.once('response', (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.once('timeout', () => req.destroy(new Error(`no answer to the upgrade of ${url} within 5 s`)))
    req.once('error', reject)
    req.end()
  })
}
