/**
 * Every error embedmq raises on purpose is an EmbedmqError with a stable `code`.
 * Host code can switch on `code`; the message says what to do about it.
 */
export type EmbedmqErrorCode =
  | 'EMBEDMQ_PLUGIN_DUPLICATE_NAME'
  | 'EMBEDMQ_PLUGIN_MISSING_DEPENDENCY'
  | 'EMBEDMQ_PLUGIN_DEPENDENCY_CYCLE'
  | 'EMBEDMQ_PLUGIN_INVALID_OPTIONS'
  | 'EMBEDMQ_PLUGIN_START_FAILED'
  | 'EMBEDMQ_PLUGIN_TIMEOUT'
  | 'EMBEDMQ_CONFIG_INVALID'
  | 'EMBEDMQ_CONFIG_UNREADABLE'
  | 'EMBEDMQ_LISTEN_ADDRESS_IN_USE'
  | 'EMBEDMQ_LISTEN_FAILED'
  | 'EMBEDMQ_INVALID_STATE'
  | 'EMBEDMQ_INVALID_TOPIC'
  | 'EMBEDMQ_PUBLISH_FAILED'
  | 'EMBEDMQ_PERSISTENCE_UNAVAILABLE'
  | 'EMBEDMQ_NO_BRIDGE_PLUGIN'
  | 'EMBEDMQ_BRIDGE_INVALID'

export class EmbedmqError extends Error {
  readonly code: EmbedmqErrorCode
  /** Machine-readable context: the plugin, field, port… the error is about. */
  readonly details: Readonly<Record<string, unknown>>

  constructor (code: EmbedmqErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EmbedmqError'
    this.code = code
    this.details = details
  }
}

export function isEmbedmqError (err: unknown, code?: EmbedmqErrorCode): err is EmbedmqError {
  return err instanceof EmbedmqError && (code === undefined || err.code === code)
}

/** Turns anything thrown into an Error, so log lines always carry a message. */
export function toError (thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown))
}
