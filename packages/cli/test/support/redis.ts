import net from 'node:net'

/**
 * Just enough of the Redis protocol (RESP) for the tests to delete their keys
 * afterwards, so the CLI does not need a Redis client as a dependency.
 */

export const REDIS_HOST = '127.0.0.1'
export const REDIS_PORT = 6379
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`

/** Sends one command; resolves with the first line of the reply (`:3`, `+OK`), rejects on `-ERR`. */
function command (args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: REDIS_HOST, port: REDIS_PORT })
    let reply = ''
    socket.setTimeout(5000, () => { socket.destroy(); reject(new Error(`no reply from Redis at ${REDIS_URL} within 5 s`)) })
    socket.once('error', reject)
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      reply += chunk
      const end = reply.indexOf('\r\n')
      if (end === -1) return
      socket.end()
      const line = reply.slice(0, end)
      if (line.startsWith('-')) reject(new Error(`Redis: ${line.slice(1)}`))
      else resolve(line)
    })
    socket.write(`*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
  })
}

/** Deletes every key starting with `prefix` (glob characters in it are not escaped: use plain prefixes); resolves with how many. */
export async function deleteKeys (prefix: string): Promise<number> {
  const script = [
    'local keys = redis.call("KEYS", ARGV[1])',
    'for i = 1, #keys, 1000 do redis.call("DEL", unpack(keys, i, math.min(i + 999, #keys))) end',
    'return #keys'
  ].join('\n')
  const line = await command(['EVAL', script, '0', `${prefix}*`])
  return Number(line.slice(1))
}

/** How many keys start with `prefix`. */
export async function countKeys (prefix: string): Promise<number> {
  const line = await command(['EVAL', 'return #redis.call("KEYS", ARGV[1])', '0', `${prefix}*`])
  return Number(line.slice(1))
}

/** Whether Redis answers PING. */
export async function redisAvailable (): Promise<boolean> {
  try {
    return await command(['PING']) === '+PONG'
  } catch {
    return false
  }
}
