/**
 * Child process entry: the load generator. It runs one workload against one
 * broker endpoint, driven over IPC (prepare → start → mark, mark), and
 * reports its counters and its own CPU at each mark, so a run can show the
 * generator was not the bottleneck. The orchestrator kills it afterwards.
 */
import { errorMessage, isMessage, type GeneratorReply, type GeneratorRequest } from './protocol.js'
import { prepare, type Run } from './load/workloads.js'

function reply (message: GeneratorReply): void {
  process.send?.(message)
}

function fail (err: unknown): void {
  reply({ type: 'error', message: errorMessage(err) })
  // Let the IPC message leave before exiting.
  setTimeout(() => process.exit(1), 50).unref()
}

let run: Run | undefined

async function handle (message: GeneratorRequest): Promise<void> {
  switch (message.type) {
    case 'prepare': {
      const t0 = performance.now()
      run = await prepare(message.endpoint, message.workload)
      reply({ type: 'prepared', connections: run.connections, connectMs: performance.now() - t0 })
      return
    }
    case 'start':
      if (!run) throw new Error('start before prepare')
      await run.start()
      reply({ type: 'started' })
      return
    case 'mark': {
      if (!run) throw new Error('mark before prepare')
      const latency = run.takeLatency?.()
      reply({
        type: 'mark',
        snapshot: { at: performance.now(), cpu: process.cpuUsage(), counters: run.counters(), ...(latency ? { latency } : {}) }
      })
    }
  }
}

process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', fail)
process.on('message', (raw: unknown) => {
  if (isMessage(raw)) handle(raw as GeneratorRequest).catch(fail)
})
