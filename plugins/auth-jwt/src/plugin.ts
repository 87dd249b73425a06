import { Tokens, type BrokerConfig, type Plugin, type PluginContext } from '@embedmq/core'
import { AclStore } from './acl-store.js'
import { JwtAuthenticator } from './authenticator.js'
import { JwtAuthorizer } from './authorizer.js'
import { ExpiryWatch } from './expiry.js'
import { RemoteJwks } from './jwks.js'
import { loadSecret, loadStaticPublicKey } from './keys.js'
import { jwtAuthOptionsSchema, type JwtAuthOptions, type JwtAuthOptionsInput } from './options.js'
import { JwtVerifier } from './verify.js'

/** The plugin, with a look at its running state. */
export interface JwtAuthPlugin extends Plugin<JwtAuthOptions> {
  /** Connections whose expiry is being watched (0 when stopped). */
  readonly watchedConnections: number
}

/**
 * JWT authentication with ACLs from claims. Register it with the broker
 * (`plugins: [jwtAuth({ ... })]`) or name it in a config file
 * (`{ module: '@embedmq/auth-jwt', options: { ... } }`).
 */
export function jwtAuth (options: JwtAuthOptionsInput): JwtAuthPlugin {
  let jwks: RemoteJwks | undefined
  let expiry: ExpiryWatch | undefined
  return {
    name: 'auth-jwt',
    options,
    optionsSchema: jwtAuthOptionsSchema,
    get watchedConnections () { return expiry?.tracked ?? 0 },

    async register (ctx: PluginContext<JwtAuthOptions>) {
      const o = ctx.options
      const secret = await loadSecret(o)
      jwks = o.jwksUrl === undefined ? undefined : new RemoteJwks(o.jwksUrl, o.jwks, ctx.logger)
      if (jwks !== undefined) warnIfLinkTimesOutFirst(ctx, o)
      const publicKeys = jwks?.lookup ?? await loadStaticPublicKey(o)
      const verifier = new JwtVerifier(o, secret, publicKeys)
      const acls = new AclStore(ctx.name, { publishClaim: o.acl.publishClaim, subscribeClaim: o.acl.subscribeClaim }, ctx.logger)
      ctx.addAuthenticator(new JwtAuthenticator(o, verifier, acls, ctx.logger), { priority: o.priority })
      ctx.addAuthorizer(new JwtAuthorizer(o, acls), { priority: o.priority })
      if (o.disconnectOnExpiry) {
        expiry = new ExpiryWatch(ctx.name, o.clockToleranceSeconds * 1000, ctx.broker, ctx.logger)
        ctx.addConnectionListener(expiry)
      }
      ctx.logger.info({ algorithms: o.algorithms, jwksUrl: o.jwksUrl, issuer: o.issuer, audience: o.audience },
        `JWT authentication ready (${o.algorithms.join(', ')}${jwks === undefined ? '' : `, keys from ${jwks.url}`})`)
    },

    async start () {
      await jwks?.prefetch()
    },

    stop () {
      expiry?.clear()
    }
  }
}

/** A JWKS fetch slower than the broker's link timeout would be cut off by the broker, with a vaguer reason. */
function warnIfLinkTimesOutFirst (ctx: PluginContext<JwtAuthOptions>, o: JwtAuthOptions): void {
  if (!ctx.container.isRegistered(Tokens.Config, true)) return
  const linkMs = ctx.container.resolve<BrokerConfig>(Tokens.Config).pluginTimeouts.linkMs
  if (o.jwks.timeoutMs >= linkMs) {
    ctx.logger.warn({ timeoutMs: o.jwks.timeoutMs, linkMs },
      `jwks.timeoutMs (${o.jwks.timeoutMs}) is not below pluginTimeouts.linkMs (${linkMs}): a slow JWKS endpoint will make the broker time logins out before the plugin can answer`)
  }
}

export default jwtAuth
