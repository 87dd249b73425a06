import { createRequire } from 'node:module'
import type { EventEmitter } from 'node:events'
import type { Redis } from 'ioredis'

/** The subset of mqemitter-redis 7 the plugin relies on (the package's own types omit the internals). */
export interface RedisBus {
  on (topic: string, listener: (message: { topic: string }, done: () => void) => void, callback?: () => void): unknown
  emit (message: { topic: string }, callback?: (error?: Error) => void): void
  removeListener (topic: string, listener: (message: { topic: string }, done: () => void) => void, callback?: () => void): unknown
  close (callback?: () => void): unknown
  /** Emits 'error' for connection failures: it must have a listener, or the error is thrown. */
  readonly state: EventEmitter
}

interface MQEmitterRedisInternals extends RedisBus {
  closing?: boolean
  closed?: boolean
  _subTopic (topic: string): string
  _containsWildcard (topic: string): boolean
  /** mqemitter's own close: drops local listeners and marks the emitter closed. */
  _close (callback: () => void): void
}

type MQEmitterRedisFactory = (options: { subConn: Redis, pubConn: Redis }) => MQEmitterRedisInternals

const require = createRequire(import.meta.url)
const mqemitterRedis = require('mqemitter-redis') as MQEmitterRedisFactory

/** Escapes Redis glob characters (PSUBSCRIBE patterns) so MQTT topic text matches literally. */
function escapeGlob (text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&')
}

/**
 * mqemitter-redis on connections the plugin owns, with every pub/sub channel
 * under `prefix` (pub/sub is server-wide in Redis: db numbers do not separate
 * it, prefixes do). Only the channel is prefixed; messages keep their topic.
 *
 * `close()` is bounded: the library's own waits for both connections' 'end',
 * which never comes while Redis is down and would hang broker.stop(). Here the
 * emitter is closed locally and `closeConnections` (quit, then disconnect) ends
 * the sockets.
 */
export function createRedisBus (prefix: string, subConn: Redis, pubConn: Redis, closeConnections: () => Promise<void>): RedisBus {
  // PUBLISH goes to the prefixed channel; mqemitter-redis calls pubConn.publish(topic, payload).
  const publish = pubConn.publish.bind(pubConn) as (channel: string, message: Buffer) => Promise<number>
  ;(pubConn as unknown as { publish: typeof publish }).publish = (channel, message) => publish(prefix + channel, message)

  const bus = mqemitterRedis({ subConn, pubConn })
  const subTopic = bus._subTopic.bind(bus)
  // (P)SUBSCRIBE to the prefixed channel. A wildcard filter becomes a glob pattern, so glob
  // characters in its literal parts are escaped (an MQTT topic may contain '*', '?' or '[').
  bus._subTopic = (topic) => prefix + (bus._containsWildcard(topic) ? subTopic(escapeGlob(topic)) : topic)
  bus.close = (callback) => {
    if (bus.closed || bus.closing) { callback?.(); return bus }
    bus.closing = true
    closeConnections().finally(() => bus._close(() => callback?.()))
    return bus
  }
  return bus
}
