import type Database from 'better-sqlite3'

/**
 * Schema migrations, applied in order inside one transaction each. A file's
 * version lives in `schema_version`; a file newer than this code is refused
 * rather than guessed at.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the initial schema.
  `CREATE TABLE retained (
     topic TEXT PRIMARY KEY,
     packet BLOB NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE subscriptions (
     client_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     qos INTEGER NOT NULL,
     record BLOB NOT NULL,
     PRIMARY KEY (client_id, topic)
   ) WITHOUT ROWID;
   CREATE INDEX subscriptions_topic ON subscriptions (topic);
   CREATE TABLE outgoing (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     client_id TEXT NOT NULL,
     broker_id TEXT,
     broker_counter INTEGER,
     message_id INTEGER,
     cmd TEXT NOT NULL,
     enqueued_at INTEGER NOT NULL,
     packet BLOB NOT NULL
   );
   CREATE INDEX outgoing_client ON outgoing (client_id, seq);
   CREATE INDEX outgoing_client_cmd ON outgoing (client_id, cmd, seq);
   CREATE INDEX outgoing_client_message ON outgoing (client_id, message_id);
   CREATE INDEX outgoing_client_counter ON outgoing (client_id, broker_id, broker_counter);
   CREATE INDEX outgoing_enqueued ON outgoing (enqueued_at) WHERE cmd = 'publish';
   CREATE TABLE incoming (
     client_id TEXT NOT NULL,
     message_id INTEGER NOT NULL,
     packet BLOB NOT NULL,
     PRIMARY KEY (client_id, message_id)
   ) WITHOUT ROWID;
   CREATE TABLE wills (
     client_id TEXT PRIMARY KEY,
     broker_id TEXT,
     packet BLOB NOT NULL
   ) WITHOUT ROWID;`
]

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** Brings the file to SCHEMA_VERSION; returns the version it found. */
export function migrate (db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined
  const found = row?.version ?? 0
  if (found > SCHEMA_VERSION) {
    throw new Error(`the file has schema version ${found}, newer than this plugin's ${SCHEMA_VERSION}: upgrade @embedmq/persistence-sqlite`)
  }
  for (let v = found; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '')
      db.prepare('DELETE FROM schema_version').run()
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v + 1)
    }).immediate()
  }
  return found
}
