import { createBroker, MemoryLogger, type Broker, type BrokerOptions } from '@embedmq/core'

export type TestTransport = 'tcp' | 'ws'
export const TEST_TRANSPORTS: readonly TestTransport[] = ['tcp', 'ws']

export interface TestBroker {
  broker: Broker
  /** Every line the broker logged, for assertions. */
  logs: MemoryLogger
  /** The URL of the listener for a transport: mqtt://127.0.0.1:P or ws://127.0.0.1:P/mqtt. */
  url (transport: TestTransport): string
  stop (): Promise<void>
}

/**
 * Starts a broker with a TCP and a WebSocket listener on ephemeral loopback
 * ports and a MemoryLogger. Options are passed on to createBroker; listeners
 * given there replace the defaults.
 */
export async function startTestBroker (options: BrokerOptions = {}): Promise<TestBroker> {
  const logs = new MemoryLogger()
  const broker = createBroker({
    logger: logs,
    listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }, { type: 'ws', host: '127.0.0.1', port: 0 }],
    ...options
  })
  await broker.start()
  const urls = new Map(broker.addresses().map(a => [a.transport, a.url]))
  return {
    broker,
    logs,
    url (transport) {
      const url = urls.get(transport)
      if (!url) throw new Error(`the test broker has no ${transport} listener (it has ${[...urls.keys()].join(', ')})`)
      return url
    },
    stop: () => broker.stop()
  }
}
