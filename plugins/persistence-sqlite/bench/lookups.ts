/**
 * Micro-benchmark (not a test): 100k retained messages and 10k persistent
 * sessions in one file, then the lookups a broker does on the hot path.
 *
 *   npx tsc -b plugins/persistence-sqlite && node plugins/persistence-sqlite/dist/bench/lookups.js
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { SqlitePersistence } from '../src/index.js'

const RETAINED = 100_000
const SESSIONS = 10_000
const dir = mkdtempSync(join(tmpdir(), 'embedmq-sqlite-bench-'))
const file = join(dir, 'bench.db')
const broker = { id: 'bench' }

async function count (stream: Readable): Promise<number> {
  let n = 0
  for await (const _ of stream) n++
  return n
}

/** Median milliseconds of `runs` calls. */
async function time (runs: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    await fn(i)
    samples.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)] ?? NaN
}

const site = (i: number): string => `site${i % 100}`
const topicOf = (i: number): string => `sensors/${site(i)}/dev${Math.floor(i / 100)}/temp`

try {
  // Populate with synchronous=normal (no fsync per commit), as a bulk import would.
  let store = new SqlitePersistence({ file, synchronous: 'normal' })
  await store.setup(broker)
  let t = Date.now()
  for (let i = 0; i < RETAINED; i++) {
    await store.storeRetained({ cmd: 'publish', topic: topicOf(i), payload: Buffer.from(String(i)), qos: 0, retain: true })
  }
  console.log(`stored ${RETAINED} retained messages in ${Date.now() - t} ms`)
  t = Date.now()
  for (let c = 0; c < SESSIONS; c++) {
    await store.addSubscriptions({ id: `client-${c}` }, [
      { topic: `sensors/${site(c)}/+/temp`, qos: 1 },
      { topic: `cmd/client-${c}/#`, qos: 1 },
      { topic: 'broadcast', qos: 0 }
    ])
  }
  console.log(`stored ${SESSIONS} sessions (3 subscriptions each) in ${Date.now() - t} ms`)
  await store.destroy()

  t = Date.now()
  store = new SqlitePersistence({ file })
  await store.setup(broker)
  console.log(`reopened (synchronous=full) and rebuilt the subscription trie in ${Date.now() - t} ms; file ${(statSync(file).size / 1e6).toFixed(1)} MB`)

  const rows: Array<[string, number]> = []
  rows.push(['retained exact topic', await time(1000, i => count(store.createRetainedStream(topicOf(i * 97 % RETAINED))))])
  rows.push(['retained sensors/site7/+/temp (1000 hits)', await time(50, () => count(store.createRetainedStream('sensors/site7/+/temp')))])
  rows.push(['retained sensors/site7/dev7/# (1 hit)', await time(200, () => count(store.createRetainedStream('sensors/site7/dev7/#')))])
  rows.push(['retained +/site7/dev7/temp (full scan, 1 hit)', await time(5, () => count(store.createRetainedStream('+/site7/dev7/temp')))])
  rows.push(['subscriptionsByTopic sensors/siteX/devY/temp (100 hits)', await time(1000, i => store.subscriptionsByTopic(topicOf(i)))])
  rows.push(['subscriptionsByTopic cmd/client-N/reboot (1 hit)', await time(1000, i => store.subscriptionsByTopic(`cmd/client-${i}/reboot`))])
  rows.push(['subscriptionsByClient', await time(1000, i => store.subscriptionsByClient({ id: `client-${i}` }))])
  rows.push(['outgoingEnqueueCombi to 100 sessions (fsync)', await time(50, i => store.outgoingEnqueueCombi(
    Array.from({ length: 100 }, (_, k) => ({ clientId: `client-${k * 100 + 7}` })),
    { cmd: 'publish', topic: topicOf(7), payload: Buffer.from('x'), qos: 1, retain: false, brokerId: 'bench', brokerCounter: i + 1 }))])
  rows.push(['storeRetained one message (fsync)', await time(200, i => store.storeRetained({ cmd: 'publish', topic: topicOf(i), payload: Buffer.from('y'), qos: 0, retain: true }))])
  console.log('\nmedian per call:')
  for (const [what, ms] of rows) console.log(`  ${what.padEnd(58)} ${ms.toFixed(3)} ms`)
  await store.destroy()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
