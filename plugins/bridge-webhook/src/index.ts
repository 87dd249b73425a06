/**
 * @embedmq/bridge-webhook: selected broker events as batched, signed JSON
 * HTTP POSTs, with retries, a bounded queue per endpoint and a flush on stop.
 * - `webhook(options)` (also the default export, for config files): the plugin;
 * - `verifySignature`, `signatureProblem`, `signBody`: the signature, for receivers;
 * - `webhookOptionsSchema`, `EVENT_TYPES`: the options and event types.
 */
import { webhook } from './plugin.js'

export { webhook, PLUGIN_NAME, type WebhookPlugin } from './plugin.js'
export {
  EVENT_TYPES, endpointOptionsSchema, webhookOptionsSchema,
  type EndpointOptions, type EventType, type WebhookOptions, type WebhookOptionsInput
} from './options.js'
export { SIGNATURE_HEADER, signatureProblem, signBody, verifySignature } from './signature.js'
export { encodePayload, type WebhookEvent } from './events.js'
export type { EndpointStats } from './sender.js'

export default webhook
