import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { Logger } from '@embedmq/core'
import { runCli, type CliIo } from '../src/index.js'
import { canBind } from './support/net.js'

// runCli in-process: the programmatic entry point, with fake streams, signals and logger.

interface Captured { level: string, msg: string, fields: Record<string, unknown> }

/** A Logger that records lines, so a test can read the broker's addresses without parsing stdout. */
function captureLogger (lines: Captured[], onLine: () => void): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object | string, msg?: string): void => {
      lines.push(typeof obj === 'string' ? { level, msg: obj, fields: bindings } : { level, msg: msg ?? '', fields: { ...bindings, ...obj } })
      onLine()
    }
    return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) }
  }
  return make({})
}

function fakeIo (): { io: CliIo, out: string[], err: string[], signals: EventEmitter, lines: Captured[], logged: (msg: string) => Promise<void> } {
  const out: string[] = []
  const err: string[] = []
  const signals = new EventEmitter()
  const lines: Captured[] = []
  const waiters = new Set<() => void>()
  const logger = captureLogger(lines, () => { for (const w of waiters) w() })
  const logged = (prefix: string): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (!lines.some(l => l.msg.startsWith(prefix))) return
      clearTimeout(timer); waiters.delete(check); resolve()
    }
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no log line starting "${prefix}" within 10 s: ${JSON.stringify(lines)}`)) }, 10_000)
    waiters.add(check)
    check()
  })
  const io: CliIo = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env: {},
    signals: { on: (s, l) => signals.on(s, l), off: (s, l) => signals.off(s, l) },
    logger
  }
  return { io, out, err, signals, lines, logged }
}

describe('runCli (in-process)', () => {
  it('returns exit codes instead of exiting', async () => {
    const help = fakeIo()
    assert.equal(await runCli(['--help'], help.io), 0)
    assert.match(help.out.join(''), /Usage: embedmq/)
    const bad = fakeIo()
    assert.equal(await runCli(['start', '--nope'], bad.io), 2)
    assert.match(bad.err.join(''), /unknown option '--nope'/)
  })

  it('runs start until a signal arrives, then stops the broker and resolves 0', async () => {
    const { io, signals, lines, logged } = fakeIo()
    const exit = runCli(['start', '--port', '0', '--ws-port', '0'], io)
    await logged('embedmq is running')
    const port = Number(new URL(String(lines.find(l => l.msg.startsWith('listening on mqtt:'))?.fields.url)).port)
    assert.equal(await canBind(port), false, 'the broker holds its port while running')

    assert.equal(signals.listenerCount('SIGTERM'), 1)
    signals.emit('SIGTERM', 'SIGTERM')
    assert.equal(await exit, 0)
    assert.equal(await canBind(port), true, 'port released after stop')
    assert.equal(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT'), 0, 'signal handlers removed')
  })
})
