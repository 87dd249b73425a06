/** Shared test fixtures: a broker that checks machine passwords, and helpers to watch what machines publish. */
import { authenticated, refuse, type Plugin } from '@embedmq/core'
import { startTestBroker, type TestBroker } from '@embedmq/testing'
import { machinePassword } from '../../src/shared/plant.js'
import { parseJson, parseMachineTopic, type MachineStateMessage } from '../../src/shared/topics.js'

/** A person watching the plant (dashboard stand-in). */
export const OBSERVER = { username: 'observer', password: 'observer-secret' } as const

export interface FactoryBroker extends TestBroker {
  /** Machine ids the authenticator refuses (CONNACK 5) while listed: keeps a machine offline. */
  refused: Set<string>
  /** Latest message per machine on `state`, as the broker routed them (wills included). */
  states: Map<string, MachineStateMessage>
}

/**
 * A test broker whose authenticator accepts a machine when its username is its
 * client id and its password is machinePassword(id) — what the demo server
 * does — plus the observer.
 */
export async function startFactoryBroker (): Promise<FactoryBroker> {
  const refused = new Set<string>()
  const plugin: Plugin = {
    name: 'test-machine-auth',
    register (ctx) {
      ctx.addAuthenticator({
        authenticate (input) {
          const password = input.password?.toString('utf8')
          if (input.username === OBSERVER.username && password === OBSERVER.password) return authenticated()
          if (input.username === undefined || input.username !== input.clientId || password !== machinePassword(input.username)) {
            return refuse(4, 'bad machine credentials')
          }
          if (refused.has(input.username)) return refuse(5, 'kept offline by the test')
          return authenticated()
        }
      })
    }
  }
  const tb = await startTestBroker({ plugins: [plugin] })
  const states = new Map<string, MachineStateMessage>()
  await tb.broker.subscribe('factory/+/+/+/state', (message) => {
    const parsed = parseMachineTopic(message.topic)
    const body = parseJson<MachineStateMessage>(message.payload)
    if (parsed !== undefined && body !== undefined) states.set(parsed.address.machine, body)
  })
  return Object.assign(tb, { refused, states })
}

/** The retained message per machine on a channel, as a newcomer would get it. */
export async function retainedByMachine<T> (tb: TestBroker, filter: string): Promise<Map<string, T>> {
  const out = new Map<string, T>()
  for await (const message of tb.broker.retained(filter)) {
    const parsed = parseMachineTopic(message.topic)
    const body = parseJson<T>(message.payload)
    if (parsed !== undefined && body !== undefined) out.set(parsed.address.machine, body)
  }
  return out
}
