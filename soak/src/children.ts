import { fork, type ChildProcess } from 'node:child_process'
import { hasType } from './protocol.js'

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * The orchestrator's handle on one child process: typed IPC both ways,
 * "wait for the next message of this type" with a timeout that also fails
 * fast if the child dies, and a kill that escalates to SIGKILL.
 */
export class ChildHandle<Command, Message extends { type: string }> {
  readonly #proc: ChildProcess
  readonly #tail: string[] = []
  readonly #handlers: Array<(message: Message) => void> = []
  readonly #exitWaiters: Array<(info: ExitInfo) => void> = []
  #lines = 0
  exit: ExitInfo | undefined

  /** `capture`: keep the child's stdout/stderr (last lines) instead of passing stderr through. */
  constructor (readonly name: string, script: string, args: string[], capture: boolean) {
    this.#proc = fork(script, args, { stdio: capture ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'ignore', 'inherit', 'ipc'] })
    for (const stream of [this.#proc.stdout, this.#proc.stderr]) {
      let partial = ''
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) this.#keep(line)
      })
    }
    this.#proc.on('message', (raw: unknown) => {
      if (!hasType(raw)) return
      for (const h of [...this.#handlers]) h(raw as Message)
    })
    this.#proc.on('error', () => undefined) // e.g. sending to a dead child; the exit handler reports it
    this.#proc.on('exit', (code, signal) => {
      this.exit = { code, signal }
      for (const w of this.#exitWaiters.splice(0)) w(this.exit)
    })
  }

  get pid (): number | undefined { return this.#proc.pid }
  get lineCount (): number { return this.#lines }
  get tail (): readonly string[] { return this.#tail }

  #keep (line: string): void {
    if (line.trim() === '') return
    this.#lines++
    this.#tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line)
    if (this.#tail.length > 40) this.#tail.shift()
  }

  send (command: Command): void {
    if (this.exit || !this.#proc.connected) return
    this.#proc.send(command as object)
  }

  on (handler: (message: Message) => void): void {
    this.#handlers.push(handler)
  }

  exited (): Promise<ExitInfo> {
    if (this.exit) return Promise.resolve(this.exit)
    return new Promise(resolve => this.#exitWaiters.push(resolve))
  }

  /** The next message of `type`; rejects on timeout or if the child exits first. */
  next<T extends Message['type']> (type: T, timeoutMs: number): Promise<Extract<Message, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.exit) { reject(new Error(`${this.name} has exited`)); return }
      const done = (): void => {
        clearTimeout(timer)
        const i = this.#handlers.indexOf(handler)
        if (i >= 0) this.#handlers.splice(i, 1)
        const j = this.#exitWaiters.indexOf(onExit)
        if (j >= 0) this.#exitWaiters.splice(j, 1)
      }
      const handler = (message: Message): void => {
        if (message.type !== type) return
        done()
        resolve(message as Extract<Message, { type: T }>)
      }
      const onExit = (info: ExitInfo): void => {
        done()
        reject(new Error(`${this.name} exited (code ${String(info.code)}, signal ${String(info.signal)}) while waiting for "${type}"`))
      }
      const timer = setTimeout(() => { done(); reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)) }, timeoutMs)
      this.#handlers.push(handler)
      this.#exitWaiters.push(onExit)
    })
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async kill (graceMs = 2_000): Promise<void> {
    if (this.exit) return
    this.#proc.kill('SIGTERM')
    const timer = setTimeout(() => { if (!this.exit) this.#proc.kill('SIGKILL') }, graceMs)
    await this.exited()
    clearTimeout(timer)
  }

  /** Last resort from a synchronous exit path. */
  killNow (): void {
    if (!this.exit) this.#proc.kill('SIGKILL')
  }
}
