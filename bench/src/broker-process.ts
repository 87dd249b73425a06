/**
 * Child process entry: runs ONE broker under test (argv[2]: 'embedmq' |
 * 'aedes'; argv[3], optional: a PersistenceConfig as JSON) and answers CPU/memory samples over IPC. A broker gets a process
 * of its own so its RSS and CPU can be measured apart from the generator and
 * the orchestrator. Started with --expose-gc so memory samples can settle
 * the heap first.
 */
import { startBroker, type RunningBroker } from './brokers.js'
import { errorMessage, isMessage, type BrokerKind, type BrokerReply, type BrokerRequest, type PersistenceConfig } from './protocol.js'

const gc = (globalThis as { gc?: () => void }).gc

function reply (message: BrokerReply): void {
  process.send?.(message)
}

function sample (broker: RunningBroker, collect: boolean): BrokerReply {
  if (collect && gc) {
    // Two passes: the first can leave finalizer-held garbage for the second.
    gc()
    gc()
  }
  const mem = process.memoryUsage()
  return { type: 'sample', at: performance.now(), cpu: process.cpuUsage(), rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, dropped: broker.dropped() }
}

async function main (): Promise<void> {
  // The orchestrator going away (crash, SIGKILL) must not leave a broker behind.
  process.on('disconnect', () => process.exit(0))
  const kind = process.argv[2]
  if (kind !== 'embedmq' && kind !== 'aedes') throw new Error(`unknown broker kind "${String(kind)}"`)
  const persistence = process.argv[3] === undefined ? undefined : JSON.parse(process.argv[3]) as PersistenceConfig
  const broker = await startBroker(kind satisfies BrokerKind, persistence)
  process.on('message', (raw: unknown) => {
    if (!isMessage(raw)) return
    const message = raw as BrokerRequest
    if (message.type === 'sample') reply(sample(broker, message.gc))
    else if (message.type === 'exit') process.exit(0)
  })
  reply({ type: 'ready', kind, endpoints: broker.endpoints })
}

main().catch((err: unknown) => {
  reply({ type: 'error', message: errorMessage(err) })
  process.exit(1)
})
