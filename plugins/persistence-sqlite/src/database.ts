import Database from 'better-sqlite3'
import { migrate } from './schema.js'

/** How hard SQLite syncs to disk; see the README ("Durability"). */
export type Synchronous = 'full' | 'normal'

export interface OpenOptions {
  readonly file: string
  readonly busyTimeoutMs: number
  readonly synchronous: Synchronous
}

/** The persistence file cannot be opened or used; the message says which file and why. */
export class SqlitePersistenceError extends Error {
  readonly file: string
  constructor (file: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'SqlitePersistenceError'
    this.file = file
  }
}

/**
 * Opens (or creates) the file in WAL mode and migrates it. Every failure, a
 * corrupt or foreign file included (SQLite only notices on the first read),
 * becomes a SqlitePersistenceError naming the file.
 */
export function openDatabase (options: OpenOptions): Database.Database {
  let db: Database.Database | undefined
  try {
    db = new Database(options.file, { timeout: options.busyTimeoutMs })
    // One broker per file: the subscription trie lives in this process, so a second writer would
    // diverge silently. The exclusive lock (taken by the first write below, released by the OS
    // even on SIGKILL) makes a second broker fail to start instead.
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    db.exec('BEGIN IMMEDIATE; COMMIT')
    migrate(db)
    return db
  } catch (err) {
    db?.close()
    const code = (err as { code?: unknown }).code
    const reason = code === 'SQLITE_BUSY'
      ? `it is locked by another process (another broker on the same file?) and stayed locked for busyTimeoutMs (${options.busyTimeoutMs} ms)`
      : err instanceof Error ? err.message : String(err)
    throw new SqlitePersistenceError(options.file,
      `cannot use SQLite persistence file ${options.file}: ${reason}. ` +
      'Check the path and its permissions; if the file is corrupt, move it aside (sessions and retained messages in it are lost) or restore a backup.', err)
  }
}
