import { createBroker, type Broker, type BrokerOptions, type ListenerAddress } from '@embedmq/core'
import { defer, reportOnFailure } from './cleanup.js'
import { CapturingLogger } from './logger.js'

/** The transports every behaviour is checked on. */
export type Transport = 'tcp' | 'ws'
export const TRANSPORTS: readonly Transport[] = ['tcp', 'ws']

export interface TestBroker {
  broker: Broker
  /** Everything the broker logged. */
  logs: CapturingLogger
  tcp: ListenerAddress
  ws: ListenerAddress
  /** The URL of the listener for a transport: mqtt://127.0.0.1:P or ws://127.0.0.1:P/mqtt. */
  url (transport: Transport): string
  port (transport: Transport): number
}

export type TestBrokerOptions = Omit<BrokerOptions, 'limits' | 'logger'> & { limits?: BrokerOptions['limits'] }

/**
 * Creates and starts a broker for one test: anonymous clients allowed, a TCP
 * and a WebSocket listener on 127.0.0.1 with OS-chosen ports (unless
 * `listeners` is given), a capturing logger, and a short drain on stop.
 * It is stopped after the test; its log is printed if the test fails.
 */
export function createTestBroker (options: TestBrokerOptions = {}): { broker: Broker, logs: CapturingLogger } {
  const logs = new CapturingLogger()
  const broker = createBroker({
    allowAnonymous: true,
    drainTimeoutMs: 500,
    listeners: [
      { type: 'tcp', host: '127.0.0.1', port: 0 },
      { type: 'ws', host: '127.0.0.1', port: 0 }
    ],
    ...options,
    logger: logs
  })
  defer(`stop broker ${broker.id}`, () => broker.stop())
  reportOnFailure(() => `--- log of broker ${broker.id} (${broker.state}) ---\n${logs.format('  ')}`)
  return { broker, logs }
}

export async function startBroker (options: TestBrokerOptions = {}): Promise<TestBroker> {
  const { broker, logs } = createTestBroker(options)
  await broker.start()
  const addresses = broker.addresses()
  const tcp = addresses.find(a => a.transport === 'tcp')
  const ws = addresses.find(a => a.transport === 'ws')
  const address = (transport: Transport): ListenerAddress => {
    const found = transport === 'tcp' ? tcp : ws
    if (!found) throw new Error(`the test broker has no ${transport} listener (listeners: ${addresses.map(a => a.url).join(', ')})`)
    return found
  }
  return {
    broker,
    logs,
    get tcp () { return address('tcp') },
    get ws () { return address('ws') },
    url: (transport) => address(transport).url,
    port: (transport) => address(transport).port
  }
}
