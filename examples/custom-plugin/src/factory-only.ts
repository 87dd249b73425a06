/**
 * A small, complete embedmq plugin: only clients whose id starts with
 * `factory-` may connect. It is a gate, not a login: for a matching id it
 * answers next(), so whatever authenticators come after it (passwords,
 * tokens, certificates) still decide; any other id is refused with CONNACK
 * 0x02 (identifier rejected).
 */
import 'reflect-metadata'
import { inject, injectable } from 'tsyringe'
import { z } from 'zod'
import { next, refuse, Tokens, type AuthenticationResult, type Authenticator, type ConnectInput, type Logger, type Plugin } from '@embedmq/core'

/** The plugin's options, validated by the broker at start (a bad value fails start naming the field). */
export const factoryOnlyOptions = z.strictObject({
  /** Client ids must start with this. */
  prefix: z.string().min(1).default('factory-')
})
export type FactoryOnlyOptions = z.output<typeof factoryOnlyOptions>

/**
 * The authenticator, as a class the plugin's own container constructs:
 * tsyringe injects the plugin's logger and its validated options.
 */
@injectable()
export class FactoryIdGate implements Authenticator {
  constructor (
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(Tokens.PluginOptions) private readonly options: FactoryOnlyOptions
  ) {}

  authenticate (input: ConnectInput): AuthenticationResult {
    if (input.clientId.startsWith(this.options.prefix)) return next()
    this.log.info({ clientId: input.clientId, remoteAddress: input.remoteAddress }, `client id does not start with "${this.options.prefix}"`)
    return refuse(2, `client id must start with "${this.options.prefix}"`)
  }
}

/** The plugin factory; also the default export, so a config file can load it by module name. */
export function factoryOnly (options: Partial<FactoryOnlyOptions> = {}): Plugin<FactoryOnlyOptions> {
  return {
    name: 'factory-only',
    options,
    optionsSchema: factoryOnlyOptions,
    register (ctx) {
      // Runs before ordinary authenticators (priority 0), so no password check happens for a refused id.
      ctx.addAuthenticator(FactoryIdGate, { priority: 100 })
    }
  }
}

export default factoryOnly
