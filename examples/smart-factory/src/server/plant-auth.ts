/**
 * Authentication for the plant's MQTT clients, as an embedmq plugin:
 * - machines log in with username = machine id and password =
 *   machinePassword(id) (compared in constant time), and must use their id as
 *   client id, or `<id>.<anything>` for extra connections (a mosquitto_pub
 *   next to a mosquitto_sub). Those client ids are the machine's alone: another
 *   client taking one would take over its persistent session, and with it the
 *   commands queued for the machine;
 * - operators and viewers may log in with their dashboard password too (e.g.
 *   mosquitto_sub over TCP). Their browsers log in by session (auth-session).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { authenticated, next, refuse, type ConnectInput, type Plugin } from '@embedmq/core'
import { machinePassword, type MachineSpec, type PlantSpec } from '../shared/plant.js'
import type { UserStore } from './users.js'

export const MACHINE_ROLE = 'machine'

export interface PlantAuthOptions {
  plant: PlantSpec
  users: UserStore
  /** The secret machine passwords derive from; default MACHINE_SECRET or the demo secret. */
  machineSecret?: string
}

export function plantAuth (options: PlantAuthOptions): Plugin {
  const machines = new Map<string, MachineSpec>(options.plant.machines.map(m => [m.id, m]))
  const expected = new Map<string, Buffer>(options.plant.machines.map(m => [m.id, digest(machinePassword(m.id, options.machineSecret))]))
  /** The machine a client id belongs to: its id, or its id followed by a dot and anything. */
  const ownerOf = (clientId: string): string | undefined => {
    if (machines.has(clientId)) return clientId
    const dot = clientId.indexOf('.')
    return dot > 0 && machines.has(clientId.slice(0, dot)) ? clientId.slice(0, dot) : undefined
  }
  return {
    name: 'smart-factory-auth',
    register (ctx) {
      // Runs before everything else, session logins included: a machine's client ids belong to that machine only.
      ctx.addAuthenticator({
        authenticate: (input: ConnectInput) => {
          const owner = ownerOf(input.clientId)
          return owner !== undefined && input.username !== owner
            ? refuse(2, `client id "${input.clientId}" is reserved for machine ${owner}; connect with another client id`)
            : next()
        }
      }, { priority: 1000 })
      ctx.addAuthenticator({
        async authenticate (input: ConnectInput) {
          const username = input.username
          if (username === undefined || username === '') return next()
          const machine = machines.get(username)
          if (machine) {
            const given = input.password === undefined ? undefined : digest(input.password)
            if (given === undefined || !timingSafeEqual(given, expected.get(machine.id)!)) {
              return refuse(4, `wrong password for machine ${machine.id}`)
            }
            if (ownerOf(input.clientId) !== machine.id) return refuse(2, `machine ${machine.id} must connect with client id "${machine.id}" or "${machine.id}.<suffix>"`)
            return authenticated({ username: machine.id, roles: [MACHINE_ROLE], claims: { site: options.plant.site, line: machine.line } })
          }
          if (!options.users.has(username)) return next()
          const user = input.password === undefined ? undefined : await options.users.verify(username, input.password)
          return user ? authenticated({ username: user.username, roles: [user.role] }) : refuse(4, `wrong password for user ${username}`)
        }
      })
    }
  }
}

/** Fixed-length digests, so timingSafeEqual compares equal lengths whatever was sent. */
function digest (value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest()
}
