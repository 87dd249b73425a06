import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** dist/test/support/process.js → dist/src/bin.js: the same file `npx embedmq` runs. */
export const BIN = fileURLToPath(new URL('../../src/bin.js', import.meta.url))

/** Generous bound for things that take milliseconds; only reached when something is broken. */
export const WAIT_MS = 10_000

/** One pino line from the child's stdout. */
export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

const running = new Set<CliProcess>()

/** Kills every child still running; call from after()/afterEach() so a failed test leaves no broker behind. */
export async function killAll (): Promise<void> {
  await Promise.all([...running].map(p => p.kill()))
}

/** The child's environment: ours without EMBEDMQ_* (a developer's shell must not change test outcomes), plus `extra`. */
function childEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('EMBEDMQ_')) env[key] = value
  return { ...env, ...extra }
}

/** `node dist/src/bin.js <args>` with its output captured and parsed. */
export class CliProcess {
  readonly child: ChildProcess
  readonly logs: LogLine[] = []
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>
  #exit: Exit | undefined
  readonly #waiters = new Set<() => void>()

  /** `stdin`: bytes piped to the child, then end of file (without it, stdin is /dev/null). */
  constructor (args: readonly string[], options: { env?: Record<string, string>, cwd?: string, stdin?: string | Buffer } = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      env: childEnv(options.env ?? {}),
      cwd: options.cwd ?? process.cwd(),
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
    })
    if (options.stdin !== undefined) {
      // The child may exit before reading everything (a refused command): that EPIPE is not a failure.
      this.child.stdin?.on('error', () => undefined)
      this.child.stdin?.end(options.stdin)
    }
    running.add(this)
    let partial = ''
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
      partial += chunk
      const lines = partial.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) this.#parse(line)
      this.#notify()
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; this.#notify() })
    this.exited = new Promise(resolve => {
      this.child.once('close', (code, signal) => {
        running.delete(this)
        this.#exit = { code, signal }
        this.#notify()
        resolve(this.#exit)
      })
    })
  }

  #parse (line: string): void {
    if (line.trim() === '') return
    try {
      const parsed = JSON.parse(line) as LogLine
      if (typeof parsed.msg === 'string') this.logs.push(parsed)
    } catch {
      // Not a log line (help text and the like): kept in `stdout` only.
    }
  }

  #notify (): void {
    for (const waiter of this.#waiters) waiter()
  }

  /** What the child said so far, for failure messages. */
  transcript (): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}\n--- exit: ${JSON.stringify(this.#exit ?? 'running')}`
  }

  /** Resolves with the first value `check` returns (not undefined); fails with `what` and the transcript after `ms`, or if the child exits first. */
  async waitFor<T> (what: string, check: () => T | undefined, ms = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => { clearTimeout(timer); this.#waiters.delete(poll) }
      const poll = (): void => {
        const value = check()
        if (value !== undefined) { done(); resolve(value); return }
        if (this.#exit) { done(); reject(new Error(`embedmq exited before ${what}\n${this.transcript()}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${this.transcript()}`)) }, ms)
      this.#waiters.add(poll)
      poll()
    })
  }

  waitForLog (what: string, match: (line: LogLine) => boolean, ms = WAIT_MS): Promise<LogLine> {
    return this.waitFor(`a log line: ${what}`, () => this.logs.find(match), ms)
  }

  /** Waits until the broker is up, then returns the URLs from its "listening on …" lines. */
  async ready (ms = WAIT_MS): Promise<string[]> {
    await this.waitForLog('"embedmq is running"', l => l.msg.startsWith('embedmq is running'), ms)
    return this.logs.filter(l => l.msg.startsWith('listening on ')).map(l => String(l.url))
  }

  /** The listening URL with this scheme, e.g. 'mqtt:' or 'ws:'. */
  async url (protocol: 'mqtt:' | 'ws:'): Promise<URL> {
    const urls = await this.ready()
    const found = urls.map(u => new URL(u)).find(u => u.protocol === protocol)
    if (!found) throw new Error(`no ${protocol} listener among ${urls.join(', ')}\n${this.transcript()}`)
    return found
  }

  async waitForExit (ms = WAIT_MS): Promise<Exit> {
    return this.waitFor('the process to exit', () => this.#exit, ms)
  }

  signal (signal: NodeJS.Signals): void {
    if (!this.child.kill(signal)) throw new Error(`could not send ${signal} to embedmq (pid ${this.child.pid ?? '?'})`)
  }

  /** SIGKILL if still running; resolves when the child is gone. */
  async kill (): Promise<void> {
    if (this.#exit) return
    this.child.kill('SIGKILL')
    await this.exited
  }
}
