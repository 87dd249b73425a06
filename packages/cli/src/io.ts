import type { Readable } from 'node:stream'
import type { Logger } from '@embedmq/core'

/** Somewhere to write text: process.stdout/stderr, or a buffer in tests. */
export interface TextSink {
  write (text: string): unknown
}

/** Where shutdown signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on (signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown
  off (signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown
}

/** Where passwords are read from: a terminal (echo turned off) or a pipe. */
export type InputSource = Readable & {
  isTTY?: boolean
  setRawMode?: (mode: boolean) => unknown
}

/**
 * Everything the CLI touches outside itself, so `runCli` can run in-process
 * (tests, or a host that wants `embedmq start` behaviour programmatically).
 */
export interface CliIo {
  /** Help, version: what the user asked to see. */
  stdout: TextSink
  /** Error lines: one per failure, no stack traces for expected errors. */
  stderr: TextSink
  /** Source of EMBEDMQ_* overrides. */
  env: NodeJS.ProcessEnv
  signals: SignalSource
  /** The broker's logger; a pino logger on stdout at the config's logLevel when left out. */
  logger?: Logger
  /** Where `embedmq passwd` reads the password; without it, passwd fails saying there is no input. */
  stdin?: InputSource
}

export function processIo (): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    // Lazily: only `passwd` reads stdin; `start` should not open it (e.g. a terminal it would then hold).
    get stdin () { return process.stdin }
  }
}
