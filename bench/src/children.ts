/**
 * Forked child processes with typed request/reply over IPC, every wait
 * bounded by a timeout, and one registry so that every child is killed at
 * the end: after each trial, on error, and on SIGINT/SIGTERM.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { isMessage } from './protocol.js'

const live = new Set<ChildProcess>()

type Waiter<R> = { type: string, resolve: (message: R) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }

export class Child<Req, Rep extends { type: string }> {
  readonly #process: ChildProcess
  readonly #name: string
  readonly #inbox: Rep[] = []
  #waiter: Waiter<Rep> | undefined
  #exit: Error | undefined
  readonly #exited: Promise<void>

  constructor (script: string, args: readonly string[], name: string, execArgv: readonly string[] = []) {
    this.#name = name
    const path = fileURLToPath(new URL(script, import.meta.url))
    this.#process = fork(path, [...args], { execArgv: [...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    live.add(this.#process)
    this.#exited = new Promise(resolve => {
      this.#process.once('exit', (code, signal) => {
        live.delete(this.#process)
        this.#exit = new Error(`${name} exited (${signal ?? `code ${String(code)}`})`)
        this.#settle()
        resolve()
      })
    })
    this.#process.on('message', (raw: unknown) => {
      if (!isMessage(raw)) return
      this.#inbox.push(raw as Rep)
      this.#settle()
    })
  }

  send (message: Req): void {
    if (this.#process.connected) this.#process.send(message as object)
  }

  /** The next reply of `type`; a reply of type 'error' or the child's exit rejects. */
  expect<T extends Rep['type']> (type: T, timeoutMs: number): Promise<Extract<Rep, { type: T }>> {
    if (this.#waiter) return Promise.reject(new Error(`${this.#name}: already waiting for ${this.#waiter.type}`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined
        reject(new Error(`${this.#name}: no "${type}" within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiter = { type, resolve: resolve as (m: Rep) => void, reject, timer }
      this.#settle()
    })
  }

  /** Sends a request and waits for its reply. */
  request<T extends Rep['type']> (message: Req, type: T, timeoutMs: number): Promise<Extract<Rep, { type: T }>> {
    const reply = this.expect(type, timeoutMs)
    this.send(message)
    return reply
  }

  #settle (): void {
    const waiter = this.#waiter
    if (!waiter) return
    const index = this.#inbox.findIndex(m => m.type === waiter.type || m.type === 'error')
    let outcome: Rep | Error | undefined
    if (index >= 0) {
      const [message] = this.#inbox.splice(index, 1)
      const detail = (message as { message?: unknown }).message
      outcome = message!.type === 'error' ? new Error(`${this.#name}: ${String(detail)}`) : message
    } else if (this.#exit) {
      outcome = this.#exit
    }
    if (outcome === undefined) return
    this.#waiter = undefined
    clearTimeout(waiter.timer)
    if (outcome instanceof Error) waiter.reject(outcome)
    else waiter.resolve(outcome)
  }

  /** Asks the child to exit on its own (so it can write e.g. a CPU profile); kills it after `timeoutMs`. */
  async stop (request: Req, timeoutMs: number): Promise<void> {
    this.send(request)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#exited, new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })])
    clearTimeout(timer)
    await this.kill()
  }

  /** SIGKILL (nothing to flush: results travel over IPC before this) and wait for the exit. */
  async kill (): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill('SIGKILL')
    await this.#exited
  }
}

/** Kills every child still alive; synchronous, so it also works from a signal handler. */
export function killAllChildren (): void {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch { /* already gone */ }
  }
  live.clear()
}
