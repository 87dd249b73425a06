/**
 * Runs one session plan over a real socket: writes the planned chunks one by
 * one (each a TCP write or a binary WebSocket frame), reads whatever the
 * broker answers, and ends the connection as planned. Every wait is bounded,
 * so a broker that stops reading cannot hang the fuzzer: that shows up as a
 * stalled session and, if it lasts, as a failing health probe.
 */
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises'
import { parser } from 'mqtt-packet'
import type { SessionPlan } from './plan.js'
import { open, within, type Endpoint } from './transport.js'

export interface SessionOptions {
  /** How long to wait for the socket to open. */
  connectTimeoutMs: number
  /** How long a 'linger' session waits for the broker to close it. */
  lingerMs: number
  /** A 'settle' session ends once the broker has sent nothing for this long… */
  quietMs: number
  /** …or after this long at most. */
  settleMs: number
  /** After a FIN (or WS close frame), how long to wait for the broker to close before dropping the socket. */
  closeWaitMs: number
  /** How long the gate waits for the broker's first reply (CONNACK). */
  gateMs: number
  /** Upper bound for the whole session; past it the socket is destroyed and the session counts as stalled. */
  sessionTimeoutMs: number
  /**
   * Pause after each of the first PACED_CHUNKS writes. 0 (fuzzing) lets the kernel coalesce
   * writes as it likes; triage replays with a pause so chunk boundaries reach the broker's
   * reads as planned, which some crashes need.
   */
  paceMs: number
}

const PACED_CHUNKS = 200
/** A pause planned after a chunk (SessionPlan.pauses): long enough for the broker to read what came before. */
const PAUSE_MS = 3

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  connectTimeoutMs: 3000, lingerMs: 150, quietMs: 30, settleMs: 600, closeWaitMs: 300, gateMs: 300, sessionTimeoutMs: 15_000, paceMs: 0
}

export interface SessionResult {
  /** The socket opened (false: refused or timed out, e.g. the broker is gone). */
  opened: boolean
  /** Packets whose every byte was written before the connection closed. */
  packetsSent: number
  bytesSent: number
  bytesReceived: number
  /** The broker closed the connection before the session ended it. */
  closedByBroker: boolean
  /** The session hit sessionTimeoutMs (the broker stopped reading, or never closed). */
  stalled: boolean
  /** Bytes from the broker that mqtt-packet could not parse (a broker must only send well-formed packets). */
  malformedReply: boolean
  /** mqtt-packet's complaint about them, and the last bytes received up to then (hex), for the report. */
  malformedReplyError?: string
  malformedReplyTail?: string
}

/** Received bytes kept for a malformed-reply report. */
const REPLY_TAIL = 1024

export async function runSession (plan: SessionPlan, endpoint: Endpoint, options: SessionOptions = DEFAULT_SESSION_OPTIONS): Promise<SessionResult> {
  const result: SessionResult = { opened: false, packetsSent: 0, bytesSent: 0, bytesReceived: 0, closedByBroker: false, stalled: false, malformedReply: false }
  let ending = false
  let lastActivity = Date.now()
  let firstReply: () => void = () => undefined
  const replied = new Promise<void>(resolve => { firstReply = resolve })
  const replies = parser({ protocolVersion: 4 })
  let tail = Buffer.alloc(0)
  replies.on('error', (err: Error) => {
    if (!result.malformedReply) {
      result.malformedReplyError = err.message
      result.malformedReplyTail = tail.toString('hex')
    }
    result.malformedReply = true
  })
  const conn = await open(plan.transport, endpoint, {
    onData: (bytes) => {
      result.bytesReceived += bytes.length
      lastActivity = Date.now()
      firstReply()
      if (!result.malformedReply) {
        tail = Buffer.concat([tail, bytes]).subarray(-REPLY_TAIL)
        replies.parse(bytes)
      }
    },
    onClose: () => {
      if (result.opened && !ending) result.closedByBroker = true
      firstReply()
    }
  }, options.connectTimeoutMs)
  if (!conn) return result
  result.opened = true
  if (!plan.reads) conn.stopReading()

  // Where each packet ends in the byte stream, to count the packets fully written.
  const ends: number[] = []
  let offset = 0
  for (const p of plan.packets) ends.push(offset += p.length)
  const bytes = Buffer.concat(plan.packets)
  const deadline = Date.now() + options.sessionTimeoutMs

  const write = async (): Promise<void> => {
    let at = 0
    let gated = plan.gateAt === 0 || !plan.reads // a session that does not read cannot see the CONNACK
    let written = 0
    const pauses = new Set(plan.pauses)
    for (const [index, size] of plan.chunks.entries()) {
      if (!gated && at >= plan.gateAt) {
        gated = true
        await within(replied, options.gateMs)
      }
      if (conn.isClosed() || Date.now() > deadline) return
      if (!await conn.write(bytes.subarray(at, at + size))) return
      at += size
      lastActivity = Date.now()
      result.bytesSent = at
      while (result.packetsSent < ends.length && ends[result.packetsSent]! <= at) result.packetsSent++
      if (options.paceMs > 0 && ++written <= PACED_CHUNKS) await sleep(options.paceMs)
      else if (pauses.has(index)) await sleep(PAUSE_MS)
      // Small writes can complete at once; a tick lets the broker read each one on its own.
      else if (size < 64) await tick()
    }
  }
  await within(write(), options.sessionTimeoutMs)

  const remaining = (): number => Math.max(0, deadline - Date.now())
  if (!conn.isClosed()) {
    if (plan.end === 'linger') await within(conn.closed, Math.min(options.lingerMs, remaining()))
    if (plan.end === 'settle') {
      const until = Date.now() + Math.min(options.settleMs, remaining())
      for (let quiet = Date.now() - lastActivity; !conn.isClosed() && quiet < options.quietMs && Date.now() < until; quiet = Date.now() - lastActivity) {
        await within(conn.closed, options.quietMs - quiet)
      }
    }
    ending = true
    // A FIN is only answered by a close we can see if we read; a session that does not read just drops the socket.
    if ((plan.end === 'end' || plan.end === 'settle') && plan.reads && !conn.isClosed()) {
      conn.end()
      await within(conn.closed, Math.min(options.closeWaitMs, remaining()))
    }
    conn.destroy()
    await within(conn.closed, 1000)
  }
  if (Date.now() > deadline) result.stalled = true
  return result
}

/** Runs sessions, `concurrency` at a time; results in the order of `plans`. */
export async function runSessions (plans: readonly SessionPlan[], endpoint: Endpoint, options: SessionOptions, concurrency: number): Promise<SessionResult[]> {
  const results = new Array<SessionResult>(plans.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const i = next++
      results[i] = await runSession(plans[i]!, endpoint, options)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker))
  return results
}
