/**
 * Turns a seed into a session plan: which transport, which packets (valid
 * seeds, some mutated), how the bytes are cut into writes, and how the
 * session ends. Pure and deterministic, so a plan can be rebuilt from its
 * seed, and saved and replayed byte for byte.
 */
import { mutate } from './mutate.js'
import { SeededRandom } from '@embedmq/testing'
import { connectSeed, packetSeed, qos2Flow, type Seed, type SeedContext } from './seeds.js'
import type { Transport } from './transport.js'

/**
 * After the last write: 'settle' waits until the broker has gone quiet (so it
 * processed everything and answered), then FIN; 'end' sends FIN at once;
 * 'destroy' drops the socket at once; 'linger' waits for the broker to close
 * it. Every wait is bounded.
 */
export type SessionEnd = 'settle' | 'end' | 'destroy' | 'linger'

export interface SessionPlan {
  seed: number
  transport: Transport
  packets: Buffer[]
  /** What each packet is: its seed kind, plus the mutations applied ('publish+badUtf8'). */
  notes: string[]
  /** Sizes of the successive writes (TCP) or binary frames (WS); they add up to all the packets' bytes. */
  chunks: number[]
  /** Byte offset before which the writer waits for the broker's first reply (CONNACK), or 0 to never wait. */
  gateAt: number
  /**
   * Indexes of chunks after which the writer pauses a few ms, so the broker's read ends right there:
   * a truncated packet that is the last thing in a read is parsed differently (mqtt-packet reads a
   * missing packet id from whatever follows in its buffer, or gets -1 when nothing does).
   */
  pauses: number[]
  /** False: the session never reads, so what the broker sends it piles up (a slow consumer). */
  reads: boolean
  end: SessionEnd
}

/** Keeps a session's write count bounded whatever the chunking strategy picked. */
const MAX_CHUNKS = 2000

function chunking (rng: SeededRandom, sizes: number[]): number[] {
  const total = sizes.reduce((a, b) => a + b, 0)
  const strategy = rng.weighted([[35, 'perPacket'], [25, 'coalesced'], [25, 'random'], [10, 'split'], [5, 'bytewise']] as const)
  let chunks: number[]
  switch (strategy) {
    case 'perPacket':
      chunks = sizes.filter(s => s > 0)
      break
    case 'coalesced':
      chunks = [total]
      break
    case 'random': {
      chunks = []
      for (let left = total; left > 0;) {
        const n = Math.min(left, 1 + rng.skewed(rng.chance(0.1) ? 65_536 : 512))
        chunks.push(n)
        left -= n
      }
      break
    }
    case 'split':
      chunks = sizes.flatMap((s) => {
        if (s < 2) return s > 0 ? [s] : []
        const cut = rng.range(1, s - 1)
        return [cut, s - cut]
      })
      break
    case 'bytewise':
      chunks = total <= 4096 ? new Array<number>(total).fill(1) : sizes.filter(s => s > 0)
      break
  }
  return chunks.length > MAX_CHUNKS ? [total] : chunks
}

/** Chunks that end exactly where a mutated packet ends get a pause after them, half the time (at most 16). */
function pausesAfterMutations (rng: SeededRandom, chunks: number[], packets: Buffer[], notes: string[]): number[] {
  const mutatedEnds = new Set<number>()
  let offset = 0
  packets.forEach((p, i) => {
    offset += p.length
    if (notes[i]!.includes('+')) mutatedEnds.add(offset)
  })
  const pauses: number[] = []
  offset = 0
  chunks.forEach((size, i) => {
    offset += size
    if (mutatedEnds.has(offset) && pauses.length < 16 && rng.chance(0.5)) pauses.push(i)
  })
  return pauses
}

export function planSession (seed: number, transport: Transport): SessionPlan {
  const rng = new SeededRandom(seed)
  // Per-session mutation rate: most sessions stay mostly valid so they get deep before the broker hangs up.
  const intensity = rng.weighted([[3, 0.05], [3, 0.2], [3, 0.5], [2, 1]])
  const ctx: SeedContext = { ids: [] }
  const seeds: Seed[] = []
  const count = rng.weighted<() => number>([[5, () => rng.range(1, 8)], [4, () => rng.range(8, 30)], [1, () => rng.range(30, 80)]])()
  while (seeds.length < count) {
    if (rng.chance(0.12)) seeds.push(...qos2Flow(rng, ctx))
    else seeds.push(packetSeed(rng, ctx))
  }

  const start = rng.weighted([[85, 'connect'], [8, 'none'], [7, 'late']] as const)
  const connect: Seed = { kind: 'connect', bytes: connectSeed(rng) }
  if (start === 'connect') seeds.unshift(connect)
  else if (start === 'late') seeds.splice(rng.range(1, Math.max(1, Math.min(seeds.length, 4))), 0, connect) // packets before CONNECT

  // A third of the sessions are valid but for one packet, so that packet meets a broker in whatever
  // state the valid ones built (a broken packet early on usually ends the session there).
  const single = rng.chance(0.35) ? (seeds.length > 1 ? rng.range(1, seeds.length - 1) : 0) : -1
  const packets: Buffer[] = []
  const notes: string[] = []
  for (let i = 0; i < seeds.length; i++) {
    const seed = seeds[i]!
    // The first CONNECT is mutated less often: a broken one ends the session before anything else is tried.
    const p = single >= 0 ? (i === single ? 1 : 0) : i === 0 && seed.kind === 'connect' ? intensity / 3 : intensity
    if (rng.chance(p)) {
      const donor = seeds[rng.int(seeds.length)]!.bytes
      const { bytes, ops } = mutate(rng, seed.bytes, donor)
      packets.push(bytes)
      notes.push(ops.length > 0 ? `${seed.kind}+${ops.join('+')}` : seed.kind)
    } else {
      packets.push(seed.bytes)
      notes.push(seed.kind)
    }
  }

  // Session-level mutations: the same packet run twice, or two packets swapped (PUBREL before its PUBLISH).
  if (packets.length > 2 && rng.chance(0.05)) {
    const i = rng.range(1, packets.length - 1)
    const n = rng.range(1, Math.min(5, packets.length - i))
    const again = rng.range(2, 20)
    for (let k = 0; k < again; k++) {
      packets.push(...packets.slice(i, i + n))
      notes.push(...notes.slice(i, i + n).map(s => `${s}(repeat)`))
    }
  }
  if (packets.length > 3 && rng.chance(0.05)) {
    const a = rng.range(1, packets.length - 1)
    const b = rng.range(1, packets.length - 1)
    ;[packets[a], packets[b]] = [packets[b]!, packets[a]!]
    ;[notes[a], notes[b]] = [notes[b]!, notes[a]!]
  }

  const chunks = chunking(rng, packets.map(p => p.length))
  const pauses = pausesAfterMutations(rng, chunks, packets, notes)
  const gateAt = start === 'connect' && rng.chance(0.5) ? packets[0]!.length : 0
  const end = rng.weighted([[45, 'settle'], [20, 'end'], [15, 'destroy'], [20, 'linger']] as const)
  const reads = !rng.chance(0.08)
  return { seed, transport, packets, notes, chunks, gateAt, pauses, reads, end }
}
