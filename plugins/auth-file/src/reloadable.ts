import { readFile, stat } from 'node:fs/promises'
import type { Logger } from '@embedmq/core'
import { fileError, type AuthFileError, type FileKind } from './errors.js'

/** Larger files are refused rather than read into memory. */
const MAX_FILE_BYTES = 64 * 1024 * 1024

/**
 * One file the plugin serves from memory: loaded at start (a broken file
 * fails the start), reloaded on demand. A reload that fails keeps the last
 * good value and logs the file, line and reason; an unchanged file is a
 * no-op. Reloads of one file never overlap: a request during a reload runs
 * once more after it.
 */
export class ReloadableFile<T> {
  #value: T | undefined
  #bytes: Buffer | undefined
  #running: Promise<void> | undefined
  #again = false

  constructor (
    readonly kind: FileKind,
    readonly path: string,
    private readonly parse: (bytes: Buffer) => T,
    private readonly logger: Logger,
    /** Called with the new value after a reload that changed it. */
    private readonly changed: (value: T) => void,
    /** Called after every successful (re)load, to log what was loaded. */
    private readonly loaded: (value: T, initial: boolean) => void
  ) {}

  /** The value in force; only valid after `load()` succeeded. */
  get value (): T {
    if (this.#value === undefined) throw new Error(`${this.kind} ${this.path} has not been loaded`)
    return this.#value
  }

  /** Reads and parses the file; throws AuthFileError (file, line, reason) when it cannot be used. */
  async load (): Promise<void> {
    const bytes = await this.#read()
    this.#value = this.#parse(bytes)
    this.#bytes = bytes
    this.loaded(this.#value, true)
  }

  /** Reloads now (or once more after the reload in progress). Never rejects: failures are logged. */
  reload (): Promise<void> {
    if (this.#running) {
      this.#again = true
      return this.#running
    }
    this.#running = (async () => {
      do {
        this.#again = false
        await this.#reloadOnce()
      } while (this.#again)
    })().finally(() => { this.#running = undefined })
    return this.#running
  }

  async #reloadOnce (): Promise<void> {
    let value: T
    let bytes: Buffer
    try {
      bytes = await this.#read()
      if (this.#bytes?.equals(bytes)) return
      value = this.#parse(bytes)
    } catch (err) {
      const e = err as AuthFileError
      this.logger.error({ file: this.path, line: e.line, reason: e.reason },
        `cannot reload ${e.message}; keeping the ${this.kind === 'ACL file' ? 'rules' : 'users'} loaded before`)
      return
    }
    this.#value = value
    this.#bytes = bytes
    this.loaded(value, false)
    try {
      this.changed(value)
    } catch (err) {
      this.logger.error({ file: this.path, err }, `reloaded ${this.kind} ${this.path} but could not apply it: ${(err as Error).message}`)
    }
  }

  async #read (): Promise<Buffer> {
    try {
      const info = await stat(this.path)
      if (info.isFile() && info.size > MAX_FILE_BYTES) throw Object.assign(new Error(`is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`), { code: 'EFBIG' })
      return await readFile(this.path)
    } catch (err) {
      throw fileError(this.kind, this.path, err)
    }
  }

  #parse (bytes: Buffer): T {
    try {
      return this.parse(bytes)
    } catch (err) {
      throw fileError(this.kind, this.path, err)
    }
  }
}
