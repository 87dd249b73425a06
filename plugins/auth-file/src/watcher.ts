import { realpathSync, watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from '@embedmq/core'

/** Quiet time after the last change before a file is reloaded: editors write in several steps. */
export const RELOAD_DEBOUNCE_MS = 100

/**
 * Watches the directories holding the plugin's files and calls `changed(file)`
 * once things have been quiet for RELOAD_DEBOUNCE_MS.
 *
 * The directory, not the file, is watched: editors and tools (and `embedmq
 * passwd`) replace a file by renaming a new one over it, which ends a watch on
 * the old inode. Any event in the directory counts (Kubernetes ConfigMaps swap
 * a `..data` symlink, so the file's own name never shows up); the reload
 * compares contents, so an unrelated event costs one read. When the file is a
 * symlink, the directory of its target is watched too, and the set of watched
 * directories is worked out again after every change (the link may now point
 * elsewhere).
 */
export class FileWatcher {
  /** Directory → its watcher. */
  readonly #watchers = new Map<string, FSWatcher>()
  /** Directory → the plugin files that live in it (by path or by symlink target). */
  #filesByDir = new Map<string, string[]>()
  readonly #timers = new Map<string, NodeJS.Timeout>()
  #closed = false

  constructor (
    private readonly files: readonly string[],
    private readonly changed: (file: string) => void,
    private readonly logger: Logger
  ) {}

  start (): void {
    this.#closed = false
    this.#arm()
  }

  /** Watches exactly the directories the files (and their symlink targets) are in now. */
  #arm (): void {
    const wanted = new Map<string, string[]>()
    const add = (dir: string, file: string): void => {
      const files = wanted.get(dir) ?? []
      if (!files.includes(file)) files.push(file)
      wanted.set(dir, files)
    }
    for (const file of this.files) {
      add(dirname(file), file)
      try {
        add(dirname(realpathSync(file)), file)
      } catch {
        // Missing right now (mid-replace, or deleted): its own directory is watched, which is enough to see it return.
      }
    }
    for (const [dir, watcher] of this.#watchers) {
      if (!wanted.has(dir)) {
        watcher.close()
        this.#watchers.delete(dir)
      }
    }
    for (const dir of wanted.keys()) {
      if (!this.#watchers.has(dir)) this.#watch(dir)
    }
    this.#filesByDir = wanted
  }

  #watch (dir: string): void {
    const describe = (): string => (this.#filesByDir.get(dir) ?? this.files).join(' and ')
    try {
      const watcher = watch(dir, { persistent: false }, () => {
        for (const file of this.#filesByDir.get(dir) ?? []) this.#schedule(file)
      })
      watcher.on('error', (err) => {
        this.logger.error({ dir, err: err.message }, `stopped watching ${dir} for changes (${err.message}); send SIGHUP to reload ${describe()}`)
        watcher.close()
        this.#watchers.delete(dir)
      })
      this.#watchers.set(dir, watcher)
    } catch (err) {
      this.logger.error({ dir, err: (err as Error).message }, `cannot watch ${dir} for changes (${(err as Error).message}); ${describe()} will only reload on SIGHUP`)
    }
  }

  #schedule (file: string): void {
    if (this.#closed) return
    clearTimeout(this.#timers.get(file))
    this.#timers.set(file, setTimeout(() => {
      this.#timers.delete(file)
      if (this.#closed) return
      this.#arm()
      this.changed(file)
    }, RELOAD_DEBOUNCE_MS))
  }

  close (): void {
    this.#closed = true
    for (const watcher of this.#watchers.values()) watcher.close()
    this.#watchers.clear()
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }
}
