import { z } from 'zod'

/** The plugin's options, as validated by the broker (unknown keys are errors). */
export const sqlitePersistenceOptionsSchema = z.strictObject({
  /** The database file; relative paths resolve from the config file's folder (or the working directory). Created when missing. */
  file: z.string().min(1, 'must be a file path'),
  /**
   * Cap on one client's queued QoS 1/2 messages. When a new message would
   * exceed it, the client's oldest queued messages are dropped (and logged):
   * the freshest data reaches the client. 0: no cap.
   */
  maxQueuedPerClient: z.number().int().min(0).default(0),
  /** Queued messages older than this are dropped, checked on a timer and when a queue is read. 0: never. */
  messageExpirySeconds: z.number().int().min(0).default(0),
  /** How long opening the file waits for another process to release it (e.g. the previous broker still shutting down) before failing. */
  busyTimeoutMs: z.number().int().min(0).default(5000),
  /**
   * 'full' (default): every commit is fsynced, so an acknowledged message
   * survives a power cut. 'normal': survives a process crash, not a power cut; faster.
   */
  synchronous: z.enum(['full', 'normal']).default('full')
})

/** Options as written in code or a config file. */
export type SqlitePersistenceOptionsInput = z.input<typeof sqlitePersistenceOptionsSchema>
/** Options with defaults applied. */
export type SqlitePersistencePluginOptions = z.output<typeof sqlitePersistenceOptionsSchema>
