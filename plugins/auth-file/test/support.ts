import { tempDirs as makeTempDirs, type TempDirs } from '@embedmq/testing'
import { writeFile } from 'node:fs/promises'
import type mqtt from 'mqtt'
import { hashPassword } from '../src/index.js'

/** Temporary directories for one test file (see @embedmq/testing). */
export const tempDirs = (): TempDirs => makeTempDirs('embedmq-auth-file-')

const hashes = new Map<string, string>()

/** A password file for `users` (name → password); hashes are computed once per password and reused. */
export async function passwordFileText (users: Record<string, string | Buffer>): Promise<string> {
  const lines: string[] = []
  for (const [name, password] of Object.entries(users)) {
    const key = Buffer.isBuffer(password) ? `b:${password.toString('hex')}` : `s:${password}`
    let hash = hashes.get(key)
    if (hash === undefined) {
      hash = await hashPassword(password)
      hashes.set(key, hash)
    }
    lines.push(`${name}:${hash}`)
  }
  return `${lines.join('\n')}\n`
}

export async function writePasswordFile (file: string, users: Record<string, string | Buffer>): Promise<void> {
  await writeFile(file, await passwordFileText(users), { mode: 0o600 })
}

/** Clients a test opened, closed in afterEach. */
export class ClientBag {
  readonly #clients: mqtt.MqttClient[] = []
  add (client: mqtt.MqttClient): mqtt.MqttClient {
    this.#clients.push(client)
    return client
  }

  async closeAll (): Promise<void> {
    await Promise.all(this.#clients.splice(0).map(c => c.endAsync(true)))
  }
}

/** Counts 'close' events: a client that stayed connected has none. */
export function closeCounter (client: mqtt.MqttClient): () => number {
  let closes = 0
  client.on('close', () => { closes++ })
  return () => closes
}
