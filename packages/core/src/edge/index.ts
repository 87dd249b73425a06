import type { Limits } from '../config/schema.js'
import { InboundGuard } from './inbound-guard.js'
import { TokenBucket } from './token-bucket.js'

export { InboundGuard } from './inbound-guard.js'
export { neverWaitForDrain, OutboundGate, SlowConsumerError, type Admission, type OutboundRules } from './outbound-limiter.js'
export { TokenBucket } from './token-bucket.js'

/** The inbound guard one connection gets under these limits. */
export function inboundGuardFor (limits: Limits): InboundGuard {
  const { messagesPerSecond, bytesPerSecond, burstSeconds, onExceeded } = limits.rate
  return new InboundGuard({
    maxPacketSize: limits.maxPacketSize,
    maxTopicLevels: limits.maxTopicLevels,
    onRateExceeded: onExceeded,
    ...(messagesPerSecond > 0 ? { messageRate: new TokenBucket(messagesPerSecond, messagesPerSecond * burstSeconds) } : {}),
    ...(bytesPerSecond > 0 ? { byteRate: new TokenBucket(bytesPerSecond, bytesPerSecond * burstSeconds) } : {})
  })
}
