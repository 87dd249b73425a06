/**
 * The state a persistence trial's broker keeps, from the orchestrator's side:
 * a fresh place per trial (a temp SQLite file, a random Redis key prefix), so
 * no broker loads an earlier trial's sessions and queues, and its removal once
 * the broker process is dead.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { PersistenceConfig, PersistenceKind } from './protocol.js'

export const REDIS_URL = 'redis://127.0.0.1:6379'
const REDIS_TIMEOUT_MS = 5_000
/** Keys per SCAN step and per UNLINK. */
const SCAN_COUNT = 1_000

export interface PersistencePlace {
  config: PersistenceConfig
  /** Removes everything the broker stored (once; later calls share the first); resolves to '' or a warning, never rejects. */
  cleanup (): Promise<string>
}

/** Places not cleaned up yet, so that Ctrl-C in the middle of a trial removes them too. */
const pending = new Set<PersistencePlace>()

/** Cleans up every place still pending (for SIGINT/SIGTERM: the children are dead by then); bounded by `timeoutMs`. */
export async function cleanupPending (timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all([...pending].map(p => p.cleanup())),
    new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })
  ])
  clearTimeout(timer)
}

function tracked (config: PersistenceConfig, remove: () => Promise<string>): PersistencePlace {
  let done: Promise<string> | undefined
  const place: PersistencePlace = {
    config,
    cleanup: () => {
      done ??= remove().finally(() => pending.delete(place))
      return done
    }
  }
  pending.add(place)
  return place
}

/** Deletes every key under `prefix` (SCAN + UNLINK, bounded by a timeout); returns how many. */
export async function deleteRedisKeys (url: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9:_.-]+$/.test(prefix)) throw new Error(`refusing to delete keys under "${prefix}"`)
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: REDIS_TIMEOUT_MS, maxRetriesPerRequest: 1, enableOfflineQueue: false })
  redis.on('error', () => { /* reported by the command that fails */ })
  const deadline = performance.now() + REDIS_TIMEOUT_MS * 4
  let deleted = 0
  try {
    await redis.connect()
    let cursor = '0'
    do {
      if (performance.now() > deadline) throw new Error(`deleting ${prefix}* took too long (${deleted} deleted)`)
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT)
      cursor = next
      if (keys.length > 0) deleted += await redis.unlink(...keys)
    } while (cursor !== '0')
    return deleted
  } finally {
    redis.disconnect()
  }
}

export async function preparePersistence (kind: PersistenceKind): Promise<PersistencePlace> {
  switch (kind) {
    case 'memory':
      return { config: { kind }, cleanup: () => Promise.resolve('') }
    case 'sqlite': {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'embedmq-bench-'))
      // The folder holds the file and its -wal/-shm companions.
      return tracked({ kind, file: path.join(dir, 'bench.db') },
        () => rm(dir, { recursive: true, force: true }).then(() => '', (err: unknown) => `could not remove ${dir}: ${String(err)}`))
    }
    case 'redis': {
      const keyPrefix = `bench:${randomBytes(6).toString('hex')}:`
      return tracked({ kind, url: REDIS_URL, keyPrefix },
        () => deleteRedisKeys(REDIS_URL, keyPrefix).then(() => '', (err: unknown) => `could not delete Redis keys ${keyPrefix}*: ${err instanceof Error ? err.message : String(err)}`))
    }
  }
}
