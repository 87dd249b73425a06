/**
 * Child process: runs the broker under test and nothing else, so its RSS,
 * heap and CPU are the broker's alone. Reports its listener ports once, then
 * pushes a memory/CPU/event-loop sample every `--sample-ms` over IPC.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { createBroker } from '@embedmq/core'
import { errorMessage, hasType, type BrokerChildMessage, type BrokerSample } from './protocol.js'
import { LOOP_RESOLUTION_MS, loopDelayMs } from './stats.js'

/** Client ids of the soak's non-reading clients (see plan.ts). */
const SLOW_PREFIX = 'soak-slow-'

function send (message: BrokerChildMessage): void {
  process.send?.(message)
}

function argValue (name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN
  return Number.isFinite(v) && v > 0 ? v : fallback
}

async function main (): Promise<void> {
  // The orchestrator owns shutdown: Ctrl-C reaches the whole process group, and
  // a broker that died of it would read as a crash. If the orchestrator itself
  // dies, the IPC channel closes and we go with it.
  process.on('SIGINT', () => undefined)
  process.on('disconnect', () => process.exit(0))
  const sampleMs = argValue('--sample-ms', 5000)

  const broker = createBroker({
    logLevel: 'warn',
    allowAnonymous: true,
    listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }, { type: 'ws', host: '127.0.0.1', port: 0 }]
  })
  await broker.start()

  // heapUsed at one instant is a point on a GC sawtooth; the lowest value in the
  // window is a steadier "live heap" figure, and reading it is cheap.
  let heapFloor = Infinity
  const floorTimer = setInterval(() => { heapFloor = Math.min(heapFloor, getHeapStatistics().used_heap_size) }, 250)
  // The heap right after a major GC is the live heap, without forcing GCs (which would add pauses to the latency being measured).
  let liveHeap = getHeapStatistics().used_heap_size
  let majorGcs = 0
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue
      liveHeap = getHeapStatistics().used_heap_size
      majorGcs++
    }
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
  let cpu = process.cpuUsage()
  let last = performance.now()
  const sampleTimer = setInterval(() => {
    const mem = process.memoryUsage()
    const now = performance.now()
    const used = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    const sample: BrokerSample = {
      at: Date.now(),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapFloor: Math.min(heapFloor, mem.heapUsed),
      liveHeap,
      majorGcs,
      external: mem.external,
      connections: broker.health().connections,
      slowHeld: broker.clients().filter(c => c.id.startsWith(SLOW_PREFIX)).length,
      cpuPct: ((used.user + used.system) / 1000) / (now - last) * 100,
      loopDelayP99Ms: loopDelayMs(loop.percentile(99)),
      loopDelayMaxMs: loopDelayMs(loop.max)
    }
    last = now
    heapFloor = Infinity
    majorGcs = 0
    loop.reset()
    send({ type: 'sample', sample })
  }, sampleMs)

  process.on('message', (raw: unknown) => {
    if (!hasType(raw) || raw.type !== 'stop') return
    clearInterval(sampleTimer)
    clearInterval(floorTimer)
    gcObserver.disconnect()
    broker.stop().then(
      () => { send({ type: 'stopped' }); process.disconnect() },
      (err: unknown) => { send({ type: 'fatal', message: `stop failed: ${errorMessage(err)}` }); process.exit(1) })
  })

  send({
    type: 'ready',
    addresses: broker.addresses().map(a => ({ transport: a.transport, port: a.port, url: a.url }))
  })
}

// A crash is the finding: say what it was before dying, so the report can show it.
process.on('uncaughtException', (err) => {
  send({ type: 'fatal', message: errorMessage(err) })
  process.stderr.write(`broker child: uncaught ${errorMessage(err)}\n`)
  process.exitCode = 1
  setTimeout(() => process.exit(1), 200)
})

main().catch((err: unknown) => {
  send({ type: 'fatal', message: errorMessage(err) })
  process.exitCode = 1
  setTimeout(() => process.exit(1), 200)
})
