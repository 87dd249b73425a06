/**
 * @embedmq/auth-jwt: JWT authentication for embedmq (jose: HS/RS/PS/ES/EdDSA,
 * static keys or a JWKS endpoint), with publish/subscribe ACLs taken from the
 * token's claims and disconnection when the token expires.
 */
export { jwtAuth, jwtAuth as default, type JwtAuthPlugin } from './plugin.js'
export {
  ALGORITHMS, HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS, jwtAuthOptionsSchema, aclOptionsSchema, jwksOptionsSchema, websocketOptionsSchema,
  type Algorithm, type ClaimPath, type JwtAuthOptions, type JwtAuthOptionsInput
} from './options.js'
export { compileAcl, checkPublish, checkRead, checkSubscribe, substitute, type AclDecision, type AclProblem, type CompiledAcl } from './acl.js'
export { filterCovers, filtersIntersect, hasWildcard } from './topics.js'
export { JwtVerifier, type Refusal, type Verified } from './verify.js'
export { RemoteJwks, JwksUnavailableError } from './jwks.js'
export { KeyConfigError, KeyMismatchError } from './keys.js'
export { presentedToken, type Presented, type TokenOrigin } from './token-source.js'
