/**
 * @embedmq/auth-file: Mosquitto-style password and ACL files for embedmq.
 * - `authFile(options)` (also the default export, for config files): the plugin;
 * - `hashPassword`, `verifyPassword`, `readPasswordFile`, `setPassword`,
 *   `deletePassword`: the password file as a library, for tools such as `embedmq passwd`;
 * - `parseAclFile`, `readAclFile`, `AclPolicy`: the ACL file and its semantics.
 */
import { authFile } from './plugin.js'

export { authFile, PLUGIN_NAME, type AuthFilePlugin } from './plugin.js'
export { authFileOptionsSchema, type AuthFileOptions, type AuthFileOptionsInput } from './options.js'
export {
  DEFAULT_SCRYPT_PARAMS, formatHash, hashPassword, HashFormatError, parseHash, scryptParamsProblem, verifyPassword,
  type ParsedHash, type ScryptParams
} from './hash.js'
export {
  deletePassword, parsePasswordFile, readPasswordFile, setPassword, usernameProblem,
  type PasswordEntry, type PasswordTable, type SetPasswordResult
} from './password-file.js'
export { parseAclFile, readAclFile, type Access, type AclRule, type AclTable } from './acl-file.js'
export { AclPolicy, type AclDecision, type AclSubject } from './acl-policy.js'
export { AuthFileError, type FileKind } from './errors.js'
export { writeFileAtomic } from './atomic-write.js'

export default authFile
