/**
 * Request/response over topics: a command goes out QoS 1 on the machine's
 * `cmd` with a correlation id, and the machine answers on `cmd/ack` with the
 * same id. An offline machine's command is still published: machines keep
 * persistent sessions, so the broker queues it (in SQLite) and delivers it
 * when the machine reconnects.
 */
import { randomUUID } from 'node:crypto'
import type { BrokerApi } from '@embedmq/core'
import { machineTopic, type Command, type CommandAck, type CommandAction } from '../../shared/topics.js'
import type { MachineSpec } from '../../shared/plant.js'

/** What became of a command. */
export type CommandResult =
  /** The machine answered (ok or refused: see ack.ok and ack.error). */
  | { status: 'acknowledged', command: Command, ack: CommandAck }
  /** No answer within the timeout. The command may still be carried out later. */
  | { status: 'timeout', command: Command, error: string }
  /** The machine is not connected; the command waits in its session queue. */
  | { status: 'queued', command: Command, message: 'queued: machine offline' }

interface Pending {
  resolve (ack: CommandAck | undefined): void
  timer: NodeJS.Timeout
}

export class CommandClient {
  readonly #broker: BrokerApi
  readonly #site: string
  readonly #timeoutMs: number
  readonly #pending = new Map<string, Pending>()

  constructor (broker: BrokerApi, site: string, timeoutMs: number) {
    this.#broker = broker
    this.#site = site
    this.#timeoutMs = timeoutMs
  }

  /** Online means a client with the machine's id is connected to this broker right now. */
  isOnline (machineId: string): boolean {
    return this.#broker.clients().some(c => c.id === machineId)
  }

  async send (machine: MachineSpec, action: CommandAction, value: number | undefined, by: string): Promise<CommandResult> {
    const command: Command = { id: randomUUID(), action, ...(value === undefined ? {} : { value }), by, ts: Date.now() }
    const topic = machineTopic({ site: this.#site, line: machine.line, machine: machine.id }, 'cmd')
    if (!this.isOnline(machine.id)) {
      await this.#broker.publish(topic, JSON.stringify(command), { qos: 1 })
      return { status: 'queued', command, message: 'queued: machine offline' }
    }
    // Wait for the ack before publishing, so a fast machine's answer cannot arrive unheard.
    const ack = new Promise<CommandAck | undefined>((resolve) => {
      const timer = setTimeout(() => { this.#pending.delete(command.id); resolve(undefined) }, this.#timeoutMs)
      this.#pending.set(command.id, { resolve, timer })
    })
    try {
      await this.#broker.publish(topic, JSON.stringify(command), { qos: 1 })
    } catch (err) {
      this.#settle(command.id)
      throw err
    }
    const answer = await ack
    return answer === undefined
      ? { status: 'timeout', command, error: `${machine.id} did not acknowledge ${action} within ${this.#timeoutMs / 1000} s` }
      : { status: 'acknowledged', command, ack: answer }
  }

  /** Handles a message on a cmd/ack topic; answers no one when the id is unknown (late or foreign). */
  onAck (ack: CommandAck): boolean {
    if (typeof ack.id !== 'string') return false
    const pending = this.#pending.get(ack.id)
    if (!pending) return false
    this.#settle(ack.id)
    pending.resolve(ack)
    return true
  }

  /** Gives up on every pending command (at shutdown): they resolve as timeouts. */
  close (): void {
    for (const id of [...this.#pending.keys()]) {
      const p = this.#pending.get(id)!
      this.#settle(id)
      p.resolve(undefined)
    }
  }

  #settle (id: string): void {
    const p = this.#pending.get(id)
    if (!p) return
    clearTimeout(p.timer)
    this.#pending.delete(id)
  }
}
