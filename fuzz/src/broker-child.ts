/**
 * Child process entry: the broker under test. It runs in a process of its
 * own so that a crash is seen as what it is (the process exiting) and cannot
 * take the fuzzer down with it.
 *
 * stdout: one JSON line, `{"pid":…,"tcpPort":…,"wsUrl":…}`, once listening.
 * stderr: the broker's log (warn and up, one JSON line each) and, on an
 *         uncaught exception, CRASH_MARKER followed by the stack; exit code 70.
 * argv[2]: optional JSON with broker options to merge over the defaults.
 * env FUZZ_TARGET_CRASH_TOPIC / FUZZ_TARGET_HANG_TOPIC: planted bugs (see selfTestHooks).
 * It exits when its stdin closes, so it never outlives the fuzzer.
 */
import { createBroker, type Broker, type BrokerOptions, type Logger } from '@embedmq/core'
import { CRASH_EXIT_CODE, CRASH_MARKER } from './target.js'

process.on('uncaughtException', (err, origin) => {
  // Synchronous write (stderr is a pipe): the stack reaches the parent before exit.
  process.stderr.write(`${CRASH_MARKER} (${origin}): ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(CRASH_EXIT_CODE)
})

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 } as const
type Level = keyof typeof LEVELS

/** pino writes to stdout; the port line must be alone there, so logs go to stderr through this small stand-in. */
function stderrLogger (min: Level, bindings: Record<string, unknown> = {}): Logger {
  const line = (level: Level) => (obj: object | string, msg?: string): void => {
    if (LEVELS[level] < LEVELS[min]) return
    const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, ...(msg === undefined ? {} : { msg }) }
    process.stderr.write(JSON.stringify({ level, ...bindings, ...fields }, (_key, value: unknown) =>
      value instanceof Error ? { message: value.message, stack: value.stack } : value) + '\n')
  }
  return {
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: extra => stderrLogger(min, { ...bindings, ...extra })
  }
}

function overrides (): Partial<BrokerOptions> {
  const raw = process.argv[2]
  if (raw === undefined || raw === '') return {}
  const parsed: unknown = JSON.parse(raw)
  if (typeof parsed !== 'object' || parsed === null) throw new Error('argv[2] must be a JSON object of broker options')
  return parsed as Partial<BrokerOptions>
}

/**
 * Planted bugs, off unless the environment asks for them: the fuzzer's own
 * tests (test/machinery.test.ts) use them to prove that a crash and a hang
 * are detected, isolated, saved and replayed.
 */
function selfTestHooks (broker: Broker): void {
  const crashTopic = process.env.FUZZ_TARGET_CRASH_TOPIC
  const hangTopic = process.env.FUZZ_TARGET_HANG_TOPIC
  if (crashTopic === undefined && hangTopic === undefined) return
  broker.on('published', (message) => {
    if (message.topic === crashTopic) setImmediate(() => { throw new Error(`planted crash on "${message.topic}"`) })
    if (message.topic === hangTopic) {
      const until = Date.now() + 60_000
      while (Date.now() < until) { /* the event loop is blocked, as in a real hang */ }
    }
  })
}

async function main (): Promise<void> {
  const broker = createBroker({
    logLevel: 'warn',
    allowAnonymous: true,
    drainTimeoutMs: 200,
    listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }, { type: 'ws', host: '127.0.0.1', port: 0 }],
    ...overrides(),
    logger: stderrLogger('warn')
  })
  selfTestHooks(broker)
  await broker.start()
  const tcp = broker.addresses().find(a => a.transport === 'tcp')
  const ws = broker.addresses().find(a => a.transport === 'ws')
  if (!tcp || !ws) throw new Error('the broker under test needs a tcp and a ws listener')

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(0), 2000)
    force.unref()
    broker.stop().finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('close', stop)
  process.stdin.resume()

  process.stdout.write(JSON.stringify({ pid: process.pid, tcpPort: tcp.port, wsUrl: ws.url }) + '\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`broker under test failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
