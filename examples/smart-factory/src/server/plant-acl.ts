/**
 * The plant's ACL, as an embedmq authorizer plugin. It answers every request
 * (allow or deny), so nothing falls through to the broker's default:
 * - a machine publishes only its own info, state, telemetry, alarm and cmd/ack,
 *   and subscribes to (and reads) only its own cmd;
 * - operators and viewers subscribe to anything under factory/<site>/ and
 *   publish nothing: commands go through the HTTP API and the controller;
 * - anyone else may do nothing.
 */
import { allow, deny, type ClientContext, type Plugin, type PublishRequest, type SubscribeRequest } from '@embedmq/core'
import { machineTopic, parseMachineTopic, TOPIC_ROOT, type MachineChannel } from '../shared/topics.js'
import type { MachineSpec, PlantSpec } from '../shared/plant.js'
import { MACHINE_ROLE } from './plant-auth.js'
import { ROLES } from './users.js'

const MACHINE_PUBLISHES: ReadonlySet<MachineChannel> = new Set<MachineChannel>(['info', 'state', 'telemetry', 'alarm', 'cmd/ack'])

export function plantAcl (plant: PlantSpec): Plugin {
  const machines = new Map<string, MachineSpec>(plant.machines.map(m => [m.id, m]))
  const sitePrefix = `${TOPIC_ROOT}/${plant.site}/`

  /** The machine this client is, if it logged in as one. */
  const machineOf = (client: ClientContext): MachineSpec | undefined =>
    client.identity.roles.includes(MACHINE_ROLE) && client.identity.username !== undefined ? machines.get(client.identity.username) : undefined
  const isPerson = (client: ClientContext): boolean => client.identity.roles.some(r => (ROLES as readonly string[]).includes(r))
  const ownCmd = (m: MachineSpec): string => machineTopic({ site: plant.site, line: m.line, machine: m.id }, 'cmd')

  return {
    name: 'smart-factory-acl',
    register (ctx) {
      ctx.addAuthorizer({
        authorizePublish (client: ClientContext, request: PublishRequest) {
          const machine = machineOf(client)
          if (machine) {
            const parsed = parseMachineTopic(request.topic)
            const own = parsed !== undefined && parsed.address.site === plant.site && parsed.address.line === machine.line &&
              parsed.address.machine === machine.id && MACHINE_PUBLISHES.has(parsed.channel)
            return own ? allow() : deny(`machine ${machine.id} may publish only its own info/state/telemetry/alarm/cmd/ack, not ${request.topic}`)
          }
          if (isPerson(client)) return deny(`${client.identity.username ?? '?'} may not publish over MQTT; commands go through the dashboard API`)
          return deny('not a machine or user of this plant')
        },
        authorizeSubscribe (client: ClientContext, request: SubscribeRequest) {
          const machine = machineOf(client)
          if (machine) return request.filter === ownCmd(machine) ? allow() : deny(`machine ${machine.id} may subscribe only to ${ownCmd(machine)}`)
          // Under the site only: the first two levels must be literal, so `#` or `factory/+/…` cannot reach other sites or $SYS.
          if (isPerson(client)) return request.filter.startsWith(sitePrefix) ? allow() : deny(`users may subscribe only under ${sitePrefix}`)
          return deny('not a machine or user of this plant')
        },
        authorizeRead (client: ClientContext, topic: string) {
          const machine = machineOf(client)
          if (machine) return topic === ownCmd(machine) ? allow() : deny()
          if (isPerson(client)) return topic.startsWith(sitePrefix) ? allow() : deny()
          return deny()
        }
      })
    }
  }
}
