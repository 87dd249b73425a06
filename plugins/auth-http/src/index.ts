/**
 * @embedmq/auth-http: delegate embedmq authentication and ACL checks to HTTP
 * endpoints (as EMQX's HTTP authn/authz and mosquitto-go-auth's HTTP backend
 * do), with result caching, request coalescing, timeouts and fail-closed
 * outcomes.
 */
export { authHttp, default, type AuthHttpPlugin } from './plugin.js'
export { authHttpOptionsSchema, type AuthHttpOptions, type AuthHttpOptionsInput, type EndpointInput, type EndpointOptions } from './options.js'
export { decisionBody, type Decision, type Reply, type Verdict } from './reply.js'
export type { AuthenticateRequest, AuthorizeAction, AuthorizeRequest } from './requests.js'
