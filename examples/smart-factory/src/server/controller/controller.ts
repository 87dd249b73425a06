/**
 * The line controller: host-app code on the in-process API only
 * (broker.subscribe / publish / retained), no MQTT client. It follows every
 * machine of the plant, publishes OEE per machine and per line, keeps the
 * alarms, and sends commands with acknowledgement.
 */
import { isEmbedmqError, type BrokerApi, type Logger, type Message, type Unsubscribe } from '@embedmq/core'
import {
  alarmTopic, COMMAND_ACTIONS, Filters, lineOeeTopic, machineTopic, MACHINE_STATES, parseJson, parseMachineTopic,
  type CommandAck, type CommandAction, type MachineAlarm, type MachineInfo, type MachineKind, type MachineState,
  type MachineStateMessage, type OeeFigures, type Telemetry
} from '../../shared/topics.js'
import type { MachineSpec, PlantSpec } from '../../shared/plant.js'
import { AlarmBook, type ControllerAlarm } from './alarm-book.js'
import { AuditLog, type AuditEntry } from './audit.js'
import { CommandClient, type CommandResult } from './commands.js'
import { MachineOeeTracker, oeeFigures, sumInputs } from './oee.js'
import { DEFAULT_THRESHOLDS, type KindThresholds } from './thresholds.js'

export interface ControllerOptions {
  /** OEE sliding window. Default 5 minutes. */
  oeeWindowMs?: number
  /** How often OEE is computed and published. Default 2 s. */
  oeePublishIntervalMs?: number
  /** How long sendCommand waits for the machine's ack. Default 5 s. */
  commandTimeoutMs?: number
  /** Telemetry limits per machine kind (merged over the defaults). */
  thresholds?: Partial<Record<MachineKind, KindThresholds>>
  /** Epoch milliseconds; tests pass their own. */
  now?: () => number
}

/** A refusal a caller can show a person: unknown machine, bad action or value. */
export class CommandRequestError extends Error {
  readonly status: 400 | 404
  constructor (status: 400 | 404, message: string) {
    super(message)
    this.name = 'CommandRequestError'
    this.status = status
  }
}

/** What the controller knows of one machine right now. */
export interface MachineStatus {
  spec: MachineSpec
  state?: MachineState
  lastSeen?: number
}

export class LineController {
  readonly plant: PlantSpec
  readonly audit: AuditLog
  readonly #broker: BrokerApi
  readonly #logger: Logger
  readonly #now: () => number
  readonly #windowMs: number
  readonly #publishIntervalMs: number
  readonly #thresholds: Record<MachineKind, KindThresholds>
  readonly #machines = new Map<string, MachineSpec>()
  readonly #trackers = new Map<string, MachineOeeTracker>()
  readonly #lastSeen = new Map<string, number>()
  readonly #alarms: AlarmBook
  readonly #commands: CommandClient
  #unsubscribe: Unsubscribe | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (broker: BrokerApi, plant: PlantSpec, logger: Logger, options: ControllerOptions = {}) {
    this.plant = plant
    this.#broker = broker
    this.#logger = logger
    this.#now = options.now ?? Date.now
    this.#windowMs = options.oeeWindowMs ?? 5 * 60_000
    this.#publishIntervalMs = options.oeePublishIntervalMs ?? 2000
    this.#thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds }
    for (const m of plant.machines) {
      this.#machines.set(m.id, m)
      this.#trackers.set(m.id, new MachineOeeTracker(m.idealPartsPerMinute))
    }
    this.audit = new AuditLog(logger)
    this.#commands = new CommandClient(broker, plant.site, options.commandTimeoutMs ?? 5000)
    this.#alarms = new AlarmBook(plant.site, {
      publish: (alarm) => this.#publish(alarmTopic(plant.site, alarm.id), JSON.stringify(alarm), 1, true),
      remove: (alarm) => this.#publish(alarmTopic(plant.site, alarm.id), '', 1, true)
    }, this.#now)
  }

  /**
   * Subscribes first, then reads the retained alarms and machine states: a
   * message that arrives in between is seen twice, which every handler
   * tolerates, rather than not at all.
   */
  async start (): Promise<void> {
    const site = this.plant.site
    this.#unsubscribe = await this.#broker.subscribe(Filters.site(site), (m) => this.#onMessage(m))
    let restored = 0
    for await (const m of this.#broker.retained(Filters.alarms(site))) {
      const alarm = parseJson<ControllerAlarm>(m.payload)
      if (alarm && typeof alarm.id === 'string' && this.#machines.has(alarm.machine) && typeof alarm.condition === 'string') {
        this.#alarms.restore({ ...alarm, cleared: alarm.cleared === true })
        restored++
      }
    }
    for await (const m of this.#broker.retained(Filters.machineChannel(site, 'info'))) this.#onMessage(m)
    for await (const m of this.#broker.retained(Filters.machineChannel(site, 'state'))) this.#onMessage(m)
    if (restored > 0) this.#logger.info({ alarms: restored }, `controller restored ${restored} alarm(s) from retained messages`)
    this.#timer = setInterval(() => { void this.publishOee() }, this.#publishIntervalMs)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    this.#commands.close()
    await this.#unsubscribe?.().catch(() => undefined)
    this.#unsubscribe = undefined
  }

  machine (id: string): MachineSpec | undefined {
    return this.#machines.get(id)
  }

  status (): MachineStatus[] {
    return this.plant.machines.map((spec) => {
      const state = this.#trackers.get(spec.id)?.state
      const lastSeen = this.#lastSeen.get(spec.id)
      return { spec, ...(state ? { state } : {}), ...(lastSeen ? { lastSeen } : {}) }
    })
  }

  alarms (): ControllerAlarm[] {
    return this.#alarms.list()
  }

  auditEntries (): AuditEntry[] {
    return this.audit.entries()
  }

  /**
   * Sends a command and waits for the machine's ack (or the timeout); an
   * offline machine's command is queued. Unknown machines, actions and values
   * throw a CommandRequestError.
   */
  async sendCommand (machineId: string, action: string, value: unknown, by: string): Promise<CommandResult> {
    const machine = this.#machines.get(machineId)
    if (!machine) throw new CommandRequestError(404, `no machine "${machineId}" in this plant`)
    if (!(COMMAND_ACTIONS as readonly string[]).includes(action)) {
      throw new CommandRequestError(400, `unknown action "${action}"; one of ${COMMAND_ACTIONS.join(', ')}`)
    }
    let rate: number | undefined
    if (action === 'set-rate') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 10 || value > 120) {
        throw new CommandRequestError(400, 'set-rate needs a value: percent of the ideal rate, 10 to 120')
      }
      rate = value
    }
    const result = await this.#commands.send(machine, action as CommandAction, rate, by)
    const outcome = result.status === 'acknowledged'
      ? (result.ack.ok ? `acknowledged (${result.ack.state})` : `refused: ${result.ack.error ?? 'no reason given'}`)
      : result.status === 'timeout' ? 'timeout' : result.message
    this.audit.record({ ts: this.#now(), by, kind: 'command', machine: machine.id, subject: action + (rate === undefined ? '' : ` ${rate}%`), outcome })
    return result
  }

  /** Acknowledges an alarm; undefined when there is no such alarm. */
  acknowledgeAlarm (alarmId: string, by: string): { alarm: ControllerAlarm, removed: boolean } | undefined {
    const result = this.#alarms.acknowledge(alarmId, by)
    if (result) {
      this.audit.record({ ts: this.#now(), by, kind: 'alarm-ack', machine: result.alarm.machine, subject: alarmId,
        outcome: result.removed ? 'acknowledged; condition cleared, alarm removed' : 'acknowledged; condition still active' })
    }
    return result
  }

  /** Computes and publishes OEE for every machine and line (also called by the timer). */
  async publishOee (): Promise<void> {
    const now = this.#now()
    const byLine = new Map<string, ReturnType<MachineOeeTracker['inputs']>[]>()
    const work: Promise<void>[] = []
    for (const machine of this.plant.machines) {
      const inputs = this.#trackers.get(machine.id)!.inputs(now, this.#windowMs)
      if (!this.#lastSeen.has(machine.id)) continue
      const list = byLine.get(machine.line) ?? []
      list.push(inputs)
      byLine.set(machine.line, list)
      work.push(this.#publish(machineTopic({ site: this.plant.site, line: machine.line, machine: machine.id }, 'oee'),
        JSON.stringify(oeeFigures(inputs, this.#windowMs, now)), 0, true))
    }
    for (const [line, list] of byLine) {
      work.push(this.#publish(lineOeeTopic(this.plant.site, line), JSON.stringify(oeeFigures(sumInputs(list), this.#windowMs, now)), 0, true))
    }
    await Promise.all(work)
  }

  /** The OEE figures for a machine or a line, computed now (for the API and tests). */
  oee (target: { machine: string } | { line: string }): OeeFigures | undefined {
    const now = this.#now()
    if ('machine' in target) {
      const tracker = this.#trackers.get(target.machine)
      return tracker ? oeeFigures(tracker.inputs(now, this.#windowMs), this.#windowMs, now) : undefined
    }
    const list = this.plant.machines.filter(m => m.line === target.line).map(m => this.#trackers.get(m.id)!.inputs(now, this.#windowMs))
    return list.length === 0 ? undefined : oeeFigures(sumInputs(list), this.#windowMs, now)
  }

  #onMessage (message: Message): void {
    const parsed = parseMachineTopic(message.topic)
    if (!parsed || parsed.address.site !== this.plant.site) return
    const machine = this.#machines.get(parsed.address.machine)
    // Only machines of the plant, on their own line: the ACL already keeps others out.
    if (!machine || machine.line !== parsed.address.line) return
    if (message.payload.length === 0) return
    switch (parsed.channel) {
      case 'state': {
        const msg = parseJson<MachineStateMessage>(message.payload)
        if (msg && isState(msg.state)) this.#onState(machine, msg.state, typeof msg.ts === 'number' ? msg.ts : this.#now(), msg.reason)
        break
      }
      case 'telemetry': {
        const t = parseJson<Telemetry>(message.payload)
        if (!t) break
        const ts = this.#now()
        this.#lastSeen.set(machine.id, ts)
        if (isState(t.state)) this.#onState(machine, t.state, ts, undefined)
        if (typeof t.partCount === 'number' && typeof t.scrapCount === 'number') this.#trackers.get(machine.id)!.recordCounters(t.partCount, t.scrapCount, ts)
        this.#alarms.onTelemetry(machine, t, this.#thresholds[machine.kind])
        break
      }
      case 'alarm': {
        const a = parseJson<MachineAlarm>(message.payload)
        if (a) this.#alarms.onMachineAlarm(machine, a, this.#trackers.get(machine.id)!.state)
        break
      }
      case 'info': {
        const info = parseJson<MachineInfo>(message.payload)
        const ideal = info?.idealPartsPerMinute
        if (typeof ideal === 'number' && Number.isFinite(ideal) && ideal > 0) this.#trackers.get(machine.id)!.idealPartsPerMinute = ideal
        break
      }
      case 'cmd/ack': {
        const ack = parseJson<CommandAck>(message.payload)
        if (ack) this.#commands.onAck(ack)
        break
      }
      default:
        break
    }
  }

  #onState (machine: MachineSpec, state: MachineState, ts: number, reason: string | undefined): void {
    const tracker = this.#trackers.get(machine.id)!
    this.#lastSeen.set(machine.id, Math.max(this.#lastSeen.get(machine.id) ?? 0, Math.min(ts, this.#now())))
    const previous = tracker.state
    // The controller's clock, not the machine's: availability must not depend on machines' clock skew.
    tracker.recordState(state, this.#now())
    if (previous !== state) this.#alarms.onState(machine, state, reason)
  }

  #publish (topic: string, payload: string, qos: 0 | 1, retain: boolean): Promise<void> {
    return this.#broker.publish(topic, payload, { qos, retain }).catch((err: unknown) => {
      // Stopping brokers refuse publishes; anything else is worth a line.
      if (isEmbedmqError(err, 'EMBEDMQ_INVALID_STATE')) return
      this.#logger.error({ topic, err }, `controller could not publish ${topic}; the dashboard will show stale data until the next update`)
    })
  }
}

function isState (value: unknown): value is MachineState {
  return typeof value === 'string' && (MACHINE_STATES as readonly string[]).includes(value)
}
