/**
 * A tiny machine for tests: an mqtt.js client speaking the topics.ts
 * contract (info and state retained, telemetry, alarm, cmd → cmd/ack), with
 * a persistent session and a last will, like the simulator's machines.
 */
import mqtt from 'mqtt'
import { machinePassword, type MachineSpec } from '../../../src/shared/plant.js'
import {
  machineTopic, type Command, type CommandAck, type MachineAddress, type MachineAlarm, type MachineInfo, type MachineState,
  type MachineStateMessage, type Telemetry
} from '../../../src/shared/topics.js'

export interface FakeMachineOptions {
  /** Answer commands (default true); false to test timeouts. */
  answer?: boolean
  /** Default machinePassword(id). */
  password?: string
  /** Telemetry interval while started with startTelemetry(); default 100 ms. */
  telemetryMs?: number
}

export class FakeMachine {
  readonly spec: MachineSpec
  readonly address: MachineAddress
  readonly received: Command[] = []
  state: MachineState = 'RUNNING'
  partCount = 0
  scrapCount = 0
  temperature = 40
  vibration = 2
  ratePercent = 100
  answer: boolean
  client: mqtt.MqttClient | undefined
  readonly #url: string
  readonly #password: string
  #timer: NodeJS.Timeout | undefined

  constructor (url: string, site: string, spec: MachineSpec, options: FakeMachineOptions = {}) {
    this.#url = url
    this.spec = spec
    this.address = { site, line: spec.line, machine: spec.id }
    this.answer = options.answer ?? true
    this.#password = options.password ?? machinePassword(spec.id)
  }

  topic (channel: Parameters<typeof machineTopic>[1]): string {
    return machineTopic(this.address, channel)
  }

  async connect (): Promise<this> {
    const will: MachineStateMessage = { state: 'OFFLINE', ts: Date.now(), reason: 'connection lost' }
    const client = mqtt.connect(this.#url, {
      clientId: this.spec.id,
      username: this.spec.id,
      password: this.#password,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: { topic: this.topic('state'), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true }
    })
    // Listening before the CONNACK: commands queued for the session can arrive in the same read.
    client.on('message', (topic, payload) => { void this.#onCommand(topic, payload) })
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
      client.once('close', () => reject(new Error(`machine ${this.spec.id} could not connect`)))
    })
    this.client = client
    await this.client.subscribeAsync(this.topic('cmd'), { qos: 1 })
    const info: MachineInfo = { machine: this.spec.id, line: this.spec.line, site: this.address.site, kind: this.spec.kind, name: this.spec.name, idealPartsPerMinute: this.spec.idealPartsPerMinute }
    await this.client.publishAsync(this.topic('info'), JSON.stringify(info), { qos: 1, retain: true })
    await this.publishState(this.state)
    return this
  }

  async publishState (state: MachineState, reason?: string): Promise<void> {
    this.state = state
    const msg: MachineStateMessage = { state, ts: Date.now(), ...(reason ? { reason } : {}) }
    await this.client!.publishAsync(this.topic('state'), JSON.stringify(msg), { qos: 1, retain: true })
  }

  async publishTelemetry (): Promise<void> {
    if (this.state === 'RUNNING') this.partCount++
    const t: Telemetry = {
      ts: Date.now(), state: this.state, temperature: this.temperature, vibration: this.vibration,
      partCount: this.partCount, scrapCount: this.scrapCount, ratePercent: this.ratePercent,
      ...(this.spec.kind === 'cnc-mill' ? { spindleSpeed: 12000 } : { cycleTime: 2 })
    }
    await this.client!.publishAsync(this.topic('telemetry'), JSON.stringify(t), { qos: 0 })
  }

  async publishAlarm (alarm: Omit<MachineAlarm, 'ts'>): Promise<void> {
    await this.client!.publishAsync(this.topic('alarm'), JSON.stringify({ ...alarm, ts: Date.now() }), { qos: 1 })
  }

  startTelemetry (ms = 100): void {
    this.#timer = setInterval(() => {
      this.temperature = 40 + Math.round(Math.random() * 100) / 10
      void this.publishTelemetry().catch(() => undefined)
    }, ms)
  }

  /** Disconnects cleanly: no last will. */
  async close (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.client?.endAsync()
  }

  /** Drops the connection without DISCONNECT: the broker publishes the last will. */
  kill (): void {
    if (this.#timer) clearInterval(this.#timer)
    this.client?.stream.destroy()
    this.client?.end(true)
  }

  async #onCommand (topic: string, payload: Buffer): Promise<void> {
    if (topic !== this.topic('cmd')) return
    const cmd = JSON.parse(payload.toString()) as Command
    this.received.push(cmd)
    if (!this.answer) return
    let ok = true
    let error: string | undefined
    switch (cmd.action) {
      case 'start':
        if (this.state === 'FAULT') { ok = false; error = 'cannot start while in FAULT; reset first' } else await this.publishState('RUNNING', 'started by operator')
        break
      case 'stop': await this.publishState('IDLE', 'stopped by operator'); break
      case 'reset': await this.publishState('IDLE', 'reset'); break
      case 'maintenance': await this.publishState('MAINTENANCE', 'maintenance'); break
      case 'fault':
        await this.publishAlarm({ code: 'E-TEST', severity: 'critical', message: 'injected fault' })
        await this.publishState('FAULT', 'E-TEST')
        break
      case 'set-rate': this.ratePercent = cmd.value ?? 100; break
    }
    const ack: CommandAck = { id: cmd.id, ok, state: this.state, ts: Date.now(), ...(error ? { error } : {}) }
    await this.client!.publishAsync(this.topic('cmd/ack'), JSON.stringify(ack), { qos: 1 })
  }
}
