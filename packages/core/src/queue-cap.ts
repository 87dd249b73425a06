import type { Logger } from './logger.js'

/** The parts of an aedes-persistence store that enqueue and clear a session's outgoing messages. */
interface OutgoingQueues {
  outgoingEnqueue (sub: { clientId: string }, packet: object): Promise<void>
  outgoingEnqueueCombi (subs: Array<{ clientId: string }>, packet: object): Promise<void>
  outgoingClearMessageId (client: { id: string }, packet: { messageId?: number }): Promise<unknown>
}

/**
 * Caps how many QoS 1/2 messages one persistent session may have queued in the
 * in-memory store (aedes' memory store has no cap: an abandoned session would
 * grow without end). Counts enqueues and acknowledged clears per client id;
 * past the cap, new messages for that session are dropped (as Mosquitto's
 * max_queued_messages does), counted and logged.
 */
export function capQueuedMessages (store: OutgoingQueues, cap: number, logger: Logger): void {
  const queued = new Map<string, number>()
  const dropped = new Map<string, number>()
  const admit = (clientId: string): boolean => {
    const n = queued.get(clientId) ?? 0
    if (n < cap) { queued.set(clientId, n + 1); return true }
    const total = (dropped.get(clientId) ?? 0) + 1
    dropped.set(clientId, total)
    // The first drop and then every 1000th: enough to act on, never a flood.
    if (total % 1000 === 1) {
      logger.warn({ clientId, queued: n, dropped: total },
        `session "${clientId}" has ${n} messages queued (limits.maxQueuedPerSession); dropping new messages for it (${total} so far)`)
    }
    return false
  }
  const enqueue = store.outgoingEnqueue.bind(store)
  const enqueueCombi = store.outgoingEnqueueCombi.bind(store)
  const clear = store.outgoingClearMessageId.bind(store)
  store.outgoingEnqueue = async (sub, packet) => { if (admit(sub.clientId)) await enqueue(sub, packet) }
  store.outgoingEnqueueCombi = async (subs, packet) => {
    const admitted = subs.filter(sub => admit(sub.clientId))
    if (admitted.length > 0) await enqueueCombi(admitted, packet)
  }
  store.outgoingClearMessageId = async (client, packet) => {
    // Clean sessions (most traffic) have nothing counted: no bookkeeping on their PUBACKs.
    if (!queued.has(client.id)) return clear(client, packet)
    const removed = await clear(client, packet)
    if (removed !== undefined && removed !== null) {
      const n = (queued.get(client.id) ?? 1) - 1
      if (n > 0) queued.set(client.id, n)
      else { queued.delete(client.id); dropped.delete(client.id) }
    }
    return removed
  }
}
