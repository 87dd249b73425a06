/**
 * The broker under test as a child process (see broker-child.ts): starts it,
 * reads its ports, keeps the tail of its stderr for crash reports, and knows
 * when it died and why. Every child is tracked and killed when the fuzzer
 * exits, however it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { within, type Endpoint } from './transport.js'

/** What broker-child writes to stderr on an uncaught exception, before the stack. */
export const CRASH_MARKER = 'FUZZ-TARGET-UNCAUGHT'
export const CRASH_EXIT_CODE = 70

const CHILD_SCRIPT = fileURLToPath(new URL('./broker-child.js', import.meta.url))
const MAX_LINE = 2000

const live = new Set<ChildProcess>()
let exitHooked = false

/** SIGKILLs every broker child still running (exit, SIGINT, mocha's after hook). Synchronous, so it works in 'exit'. */
export function killAllTargets (): void {
  for (const child of live) child.kill('SIGKILL')
  live.clear()
}

export interface TargetOptions {
  /** Broker options (JSON) merged over the child's defaults, e.g. `{ limits: { maxPacketSize: 65536 } }`. */
  broker?: Record<string, unknown>
  startTimeoutMs?: number
  /** stderr lines kept for reports. */
  keepLines?: number
  /** Heap cap of the child: unbounded growth becomes an out-of-memory crash instead of swapping the machine. */
  maxOldSpaceMb?: number
  /** Extra environment for the child (e.g. FUZZ_TARGET_CRASH_TOPIC, see broker-child.ts). */
  env?: Record<string, string>
}

interface ChildInfo {
  pid: number
  tcpPort: number
  wsUrl: string
}

function isChildInfo (value: unknown): value is ChildInfo {
  const v = value as Partial<ChildInfo> | null
  return typeof v === 'object' && v !== null && typeof v.pid === 'number' && typeof v.tcpPort === 'number' && typeof v.wsUrl === 'string'
}

export class Target {
  readonly endpoint: Endpoint
  readonly pid: number
  readonly #child: ChildProcess
  readonly #lines: string[]
  readonly #fatal: string[]
  readonly #keep: number
  readonly #closed: Promise<void>
  #exit: { code: number | null, signal: NodeJS.Signals | null } | undefined

  private constructor (child: ChildProcess, info: ChildInfo, state: { lines: string[], fatal: string[], keep: number, closed: Promise<void> }) {
    this.#child = child
    this.endpoint = { tcpPort: info.tcpPort, wsUrl: info.wsUrl }
    this.pid = info.pid
    this.#lines = state.lines
    this.#fatal = state.fatal
    this.#keep = state.keep
    this.#closed = state.closed
    if (child.exitCode !== null || child.signalCode !== null) this.#exit = { code: child.exitCode, signal: child.signalCode }
    child.once('exit', (code, signal) => { this.#exit = { code, signal } })
  }

  static start (options: TargetOptions = {}): Promise<Target> {
    if (!exitHooked) {
      exitHooked = true
      process.once('exit', killAllTargets)
    }
    const keep = options.keepLines ?? 300
    const args = [`--max-old-space-size=${options.maxOldSpaceMb ?? 1024}`, CHILD_SCRIPT, JSON.stringify(options.broker ?? {})]
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
    live.add(child)
    const lines: string[] = []
    const fatal: string[] = []
    const closed = new Promise<void>(resolve => child.once('close', () => { live.delete(child); resolve() }))
    // stderr is read all the time: the child writes to it synchronously and would block on a full pipe.
    createInterface({ input: child.stderr! }).on('line', (raw) => {
      const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}… (${raw.length} chars)` : raw
      if (fatal.length > 0 || line.startsWith(CRASH_MARKER)) {
        if (fatal.length < 200) fatal.push(line)
      }
      lines.push(line)
      if (lines.length > keep) lines.splice(0, lines.length - keep)
    })
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        child.kill('SIGKILL')
        reject(new Error(`broker child ${why}\n${lines.slice(-30).join('\n')}`))
      }
      const timer = setTimeout(() => fail('did not report its ports in time'), options.startTimeoutMs ?? 15_000)
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer)
        fail(`exited before listening (code ${code}, signal ${signal})`)
      }
      child.once('exit', onExit)
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer)
        child.off('exit', onExit)
        let info: unknown
        try { info = JSON.parse(line) } catch { info = undefined }
        if (!isChildInfo(info)) { fail(`printed an unexpected first line: ${line.slice(0, 200)}`); return }
        resolve(new Target(child, info, { lines, fatal, keep, closed }))
      })
    })
  }

  alive (): boolean {
    return this.#exit === undefined
  }

  /** Why the child is gone, in words; undefined while it runs. */
  exitDescription (): string | undefined {
    const exit = this.#exit
    if (!exit) return undefined
    if (exit.signal) return `killed by ${exit.signal}`
    if (exit.code === CRASH_EXIT_CODE) return `exit code ${exit.code} (uncaught exception)`
    return `exit code ${exit.code}`
  }

  /** Resolves once the child's output is fully read (after exit), bounded. */
  async settled (ms = 2000): Promise<void> {
    await within(this.#closed, ms)
  }

  /** The crash marker line and the stack after it, when the child died of an uncaught exception. */
  fatal (): string[] {
    return [...this.#fatal]
  }

  stderrTail (n = 40): string[] {
    return this.#lines.slice(-Math.min(n, this.#keep))
  }

  /** Resident memory of the child (Linux /proc), for progress lines; undefined elsewhere. */
  rssBytes (): number | undefined {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
      return match ? Number(match[1]) * 1024 : undefined
    } catch {
      return undefined
    }
  }

  /** SIGTERM (the broker stops cleanly), then SIGKILL if it takes more than `graceMs`. */
  async stop (graceMs = 3000): Promise<void> {
    if (this.alive()) {
      this.#child.kill('SIGTERM')
      await within(this.#closed, graceMs)
      if (this.alive()) this.#child.kill('SIGKILL')
    }
    await within(this.#closed, 2000)
    live.delete(this.#child)
  }
}
