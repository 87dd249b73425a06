import type { Plugin, PluginContext } from '@embedmq/core'
import { AclAuthorizer } from './authorizer.js'
import { PasswordAuthenticator } from './authenticator.js'
import { authFileOptionsSchema, type AuthFileOptions, type AuthFileOptionsInput } from './options.js'
import { AuthFileRuntime } from './runtime.js'

/** The name the plugin registers under (in logs and `identity.authenticatedBy`). */
export const PLUGIN_NAME = 'auth-file'

/** The plugin, plus a way for the host app to reload the files itself. */
export interface AuthFilePlugin extends Plugin<AuthFileOptions> {
  /**
   * Reloads both files now, as SIGHUP does. Resolves once done; failures are
   * logged and keep the previous contents. A no-op before the broker started.
   */
  reload (): Promise<void>
}

/**
 * A password file (scrypt hashes) and a Mosquitto-style ACL file, reloaded
 * on change and on SIGHUP without dropping connections.
 *
 *   createBroker({ plugins: [authFile({ passwordFile: 'passwd', aclFile: 'acl.conf' })] })
 */
export function authFile (options: AuthFileOptionsInput): AuthFilePlugin {
  let runtime: AuthFileRuntime | undefined
  return {
    name: PLUGIN_NAME,
    options,
    optionsSchema: authFileOptionsSchema,
    async register (ctx: PluginContext<AuthFileOptions>) {
      runtime?.stop()
      const loading = new AuthFileRuntime(ctx.options, ctx.logger, ctx.broker, ctx.resolvePath)
      // A file that cannot be used fails broker.start() (EMBEDMQ_PLUGIN_START_FAILED) with its file, line and reason.
      await loading.load()
      runtime = loading
      const link = { priority: ctx.options.priority }
      if (runtime.passwords) ctx.addAuthenticator(new PasswordAuthenticator(runtime.passwords, ctx.options, ctx.logger), link)
      if (runtime.acl) ctx.addAuthorizer(new AclAuthorizer(runtime.acl, ctx.logger), link)
    },
    start () {
      runtime?.start()
    },
    stop () {
      runtime?.stop()
    },
    async reload () {
      await runtime?.reload()
    }
  }
}
