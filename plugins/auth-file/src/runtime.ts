import { stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import type { BrokerApi, Logger } from '@embedmq/core'
import { parseAclFile } from './acl-file.js'
import { AclPolicy } from './acl-policy.js'
import type { AuthFileOptions } from './options.js'
import { parsePasswordFile, type PasswordTable } from './password-file.js'
import { ReloadableFile } from './reloadable.js'
import { onSighup } from './sighup.js'
import { FileWatcher } from './watcher.js'

/**
 * The plugin's moving parts: the two files in memory, the directory watcher
 * and the SIGHUP listener. Loading happens in register (a broken file fails
 * broker.start()); watching and SIGHUP only between start and stop.
 */
export class AuthFileRuntime {
  readonly passwords: ReloadableFile<PasswordTable> | undefined
  readonly acl: ReloadableFile<AclPolicy> | undefined
  #watcher: FileWatcher | undefined
  #offSighup: (() => void) | undefined
  #stopped = false

  constructor (
    private readonly options: AuthFileOptions,
    private readonly logger: Logger,
    private readonly broker: BrokerApi,
    resolve: (path: string) => string = (path) => resolvePath(path)
  ) {
    if (options.passwordFile !== undefined) {
      const file = resolve(options.passwordFile)
      this.passwords = new ReloadableFile('password file', file, parsePasswordFile, logger,
        () => logger.info({ file }, `password file ${file} changed: it applies to new connections; connected clients stay connected`),
        (table, initial) => {
          logger.info({ file, users: table.size }, `${initial ? 'loaded' : 'reloaded'} password file ${file}: ${table.size} user${table.size === 1 ? '' : 's'}`)
          void this.#checkMode(file)
        })
    }
    if (options.aclFile !== undefined) {
      const file = resolve(options.aclFile)
      this.acl = new ReloadableFile('ACL file', file, (bytes) => new AclPolicy(parseAclFile(bytes)), logger,
        () => {
          if (this.#stopped) return
          // Cached decisions were made under the old rules; connections stay, their next checks use the new ones.
          this.broker.invalidateAuthorizations()
          logger.info({ file }, `ACL file ${file} changed: connected clients are now checked against the new rules`)
        },
        ({ table }, initial) => {
          const rules = table.anonymous.length + table.patterns.length + [...table.users.values()].reduce((n, r) => n + r.length, 0)
          logger.info({ file, rules, users: table.users.size, patterns: table.patterns.length, anonymousRules: table.anonymous.length },
            `${initial ? 'loaded' : 'reloaded'} ACL file ${file}: ${rules} rule(s): ${table.users.size} user section(s), ${table.patterns.length} pattern(s), ${table.anonymous.length} for clients without a username`)
          for (const w of table.warnings) logger.warn({ file, line: w.line }, `ACL file ${file}, line ${w.line}: ${w.message}`)
        })
    }
  }

  /** Loads both files; throws AuthFileError (file, line, reason) for the first that cannot be used. */
  async load (): Promise<void> {
    await this.passwords?.load()
    await this.acl?.load()
  }

  /** Reloads both files; failures are logged and keep what was loaded before. */
  async reload (): Promise<void> {
    await Promise.all([this.passwords?.reload(), this.acl?.reload()])
  }

  start (): void {
    this.#stopped = false
    const files = [this.passwords, this.acl].filter(f => f !== undefined)
    if (this.options.watch) {
      this.#watcher = new FileWatcher(files.map(f => f.path), (path) => { void files.find(f => f.path === path)?.reload() }, this.logger)
      this.#watcher.start()
    }
    if (this.options.reloadOnSighup) {
      this.#offSighup = onSighup(() => {
        this.logger.info(`SIGHUP: reloading ${files.map(f => f.path).join(' and ')}`)
        void this.reload()
      })
    }
  }

  stop (): void {
    this.#stopped = true
    this.#watcher?.close()
    this.#watcher = undefined
    this.#offSighup?.()
    this.#offSighup = undefined
  }

  /** Mosquitto warns about password files others can read; so do we (the hashes are slow, not secret-proof). */
  async #checkMode (file: string): Promise<void> {
    try {
      const { mode } = await stat(file)
      if ((mode & 0o077) !== 0) {
        this.logger.warn({ file, mode: `0${(mode & 0o777).toString(8)}` },
          `password file ${file} can be read by other users (mode 0${(mode & 0o777).toString(8)}); chmod 600 it`)
      }
    } catch {
      // Gone between the read and now: the next reload reports it.
    }
  }
}
