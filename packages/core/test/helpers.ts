import { createBroker, MemoryLogger, type Broker, type BrokerOptions } from '../src/index.js'

export { collect, connackCode, connect, eventually, subackCodes } from '@embedmq/testing'

/** Starts a broker with one TCP listener on an ephemeral loopback port and a MemoryLogger. */
export async function startBroker (options: BrokerOptions = {}): Promise<{ broker: Broker, url: string, log: MemoryLogger }> {
  const log = new MemoryLogger()
  const broker = createBroker({ logger: log, listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], ...options })
  await broker.start()
  return { broker, url: broker.addresses()[0]!.url, log }
}
