/**
 * Regression cases: the exact input of every crash the fuzzer found, saved as
 * JSON under fuzz/corpus/regressions/ and replayed by every test run from
 * then on. Inputs are stored as bytes (hex), not as seeds, so a case keeps
 * reproducing even after the generators change.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SessionEnd, SessionPlan } from './plan.js'
import type { Transport } from './transport.js'

/** fuzz/corpus/regressions, from fuzz/dist/src. */
export const REGRESSIONS_DIR = fileURLToPath(new URL('../../corpus/regressions/', import.meta.url))

export const CASE_FORMAT = 'embedmq-fuzz-regression/1'

export interface SavedSession {
  seed: number
  transport: Transport
  /** Each packet as hex, in order. */
  packets: string[]
  notes: string[]
  /** Write sizes (TCP writes / WS frames) over the concatenated packets. */
  chunks: number[]
  gateAt: number
  /** Chunk indexes followed by a short pause. */
  pauses: number[]
  reads: boolean
  end: SessionEnd
}

export interface RegressionCase {
  format: typeof CASE_FORMAT
  name: string
  savedAt: string
  /** The run that found it: `npm run fuzz -- --seed <runSeed>` reaches it again at batch `batch`. */
  runSeed: number
  batch: number
  /** Why it counts as a crash: the child's exit, or the probe's failure. */
  reason: string
  /** The uncaught exception's stack, when there was one. */
  fatal: string[]
  stderrTail: string[]
  /** True when one session alone reproduced it (then `sessions` holds just that one). */
  isolated: boolean
  /** Whether replaying reproduced the crash when it was saved (false: it needed state built by earlier batches). */
  reproduced: boolean
  /** Replay the sessions concurrently, as the fuzzer ran them, rather than one after another. */
  parallel: boolean
  /** Pause after each write when replaying (ms), so chunk boundaries reach the broker as saved; 0: none. */
  paceMs: number
  /** Broker options the crash was found with (`npm run fuzz -- --broker`); replays use them too. */
  broker?: Record<string, unknown>
  sessions: SavedSession[]
}

export function toSaved (plan: SessionPlan): SavedSession {
  return {
    seed: plan.seed,
    transport: plan.transport,
    packets: plan.packets.map(p => p.toString('hex')),
    notes: plan.notes,
    chunks: plan.chunks,
    gateAt: plan.gateAt,
    pauses: plan.pauses,
    reads: plan.reads,
    end: plan.end
  }
}

export function fromSaved (saved: SavedSession): SessionPlan {
  return {
    seed: saved.seed,
    transport: saved.transport,
    packets: saved.packets.map(hex => Buffer.from(hex, 'hex')),
    notes: saved.notes,
    chunks: saved.chunks,
    gateAt: saved.gateAt,
    pauses: saved.pauses,
    reads: saved.reads,
    end: saved.end
  }
}

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every(n => typeof n === 'number')
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(s => typeof s === 'string')

function isSavedSession (value: unknown): value is SavedSession {
  const s = value as Partial<SavedSession> | null
  return typeof s === 'object' && s !== null &&
    (s.transport === 'tcp' || s.transport === 'ws') &&
    isStrings(s.packets) && isStrings(s.notes) && isNumbers(s.chunks) &&
    typeof s.gateAt === 'number' && isNumbers(s.pauses) && typeof s.reads === 'boolean' && (s.end === 'settle' || s.end === 'end' || s.end === 'destroy' || s.end === 'linger') &&
    s.chunks.reduce((a, b) => a + b, 0) === s.packets.reduce((a, p) => a + p.length / 2, 0)
}

/** Checks a parsed file, naming what is wrong, so a hand-edited case fails loudly instead of replaying nothing. */
export function parseCase (text: string, file: string): RegressionCase {
  const value: unknown = JSON.parse(text)
  const c = value as Partial<RegressionCase> | null
  if (typeof c !== 'object' || c === null || c.format !== CASE_FORMAT) throw new Error(`${file}: not a ${CASE_FORMAT} file`)
  if (!Array.isArray(c.sessions) || c.sessions.length === 0) throw new Error(`${file}: no sessions`)
  if (typeof c.parallel !== 'boolean' || typeof c.paceMs !== 'number') throw new Error(`${file}: needs "parallel" (boolean) and "paceMs" (number)`)
  c.sessions.forEach((s, i) => {
    if (!isSavedSession(s)) throw new Error(`${file}: session ${i} is malformed (or its chunks do not add up to its packets)`)
  })
  return c as RegressionCase
}

export function loadCases (dir = REGRESSIONS_DIR): Array<{ file: string, regression: RegressionCase }> {
  let names: string[]
  try {
    names = readdirSync(dir).filter(n => n.endsWith('.json')).sort()
  } catch {
    return []
  }
  return names.map((name) => {
    const file = path.join(dir, name)
    return { file, regression: parseCase(readFileSync(file, 'utf8'), file) }
  })
}

/** Writes a case; returns its path. The name carries seed and batch, so re-finding a crash overwrites its file. */
export function saveCase (regression: RegressionCase, dir = REGRESSIONS_DIR): string {
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${regression.name}.json`)
  writeFileSync(file, JSON.stringify(regression, null, 2) + '\n')
  return file
}
