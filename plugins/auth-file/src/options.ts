import { z } from 'zod'

/** The plugin's options, as validated by the broker (unknown keys are errors). */
export const authFileOptionsSchema = z.strictObject({
  /** `user:hash` lines; enables the authenticator. */
  passwordFile: z.string().min(1, 'must be a file path').optional(),
  /** Mosquitto-style ACL; enables the authorizer. */
  aclFile: z.string().min(1, 'must be a file path').optional(),
  /** What a username that is not in the password file gets: `next` lets later authenticators (or the default) decide; `deny` refuses with CONNACK 5. */
  unknownUser: z.enum(['next', 'deny']).default('next'),
  /** Reload both files on SIGHUP. */
  reloadOnSighup: z.boolean().default(true),
  /** Reload a file when it changes on disk (fs.watch on its directory). */
  watch: z.boolean().default(true),
  /**
   * Password checks (scrypt, 16 MiB and tens of milliseconds each) allowed in
   * progress at once; a login beyond it is refused at once with CONNACK 3
   * (server unavailable) instead of queueing work that would time out anyway.
   */
  maxPendingLogins: z.number().int().min(1).default(64),
  /** Chain priority of the authenticator and the authorizer (higher runs first). */
  priority: z.number().int().default(0)
}).refine(o => o.passwordFile !== undefined || o.aclFile !== undefined, {
  message: 'give passwordFile, aclFile or both'
})

/** Options as written in code or a config file. */
export type AuthFileOptionsInput = z.input<typeof authFileOptionsSchema>
/** Options with defaults applied. */
export type AuthFileOptions = z.output<typeof authFileOptionsSchema>
