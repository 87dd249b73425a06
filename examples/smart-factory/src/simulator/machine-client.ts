/**
 * One simulated machine on the wire: an mqtt.js client over TCP with the
 * machine's own credentials and a persistent session, publishing what its
 * MachineModel does and answering the commands it receives.
 */
import mqtt from 'mqtt'
import type { Logger } from '@embedmq/core'
import type { MachineSpec } from '../shared/plant.js'
import { machineTopic, type CommandAck, type MachineAddress, type MachineChannel, type MachineInfo, type MachineStateMessage } from '../shared/topics.js'
import { parseCommand } from './command.js'
import { describeConnectionError, RepeatFilter } from './connection-messages.js'
import type { MachineModel, ModelEvent } from './machine-model.js'

export interface MachineClientOptions {
  /** mqtt://host:port (or mqtts://, ws://). */
  brokerUrl: string
  site: string
  model: MachineModel
  /** The machine's MQTT password (machinePassword(id) for the demo plant). */
  password: string
  /** Telemetry period, ms. */
  telemetryIntervalMs: number
  logger: Logger
  /** Epoch milliseconds; Date.now by default. */
  clock?: () => number
  /** Wait between reconnection attempts, ms. Default 2000. */
  reconnectPeriodMs?: number
  /** How long a connection attempt may take until CONNACK, ms. Default 10 000. */
  connectTimeoutMs?: number
}

/** What a machine looks like from outside, for tests and the CLI. */
export interface MachineStatus {
  id: string
  line: string
  kind: MachineSpec['kind']
  state: MachineModel['state']
  ratePercent: number
  partCount: number
  scrapCount: number
  connected: boolean
  /** Commands received, valid or not. */
  commandsReceived: number
}

/** How long a clean stop waits for the broker to take the OFFLINE state before it gives up. */
const STOP_PUBLISH_TIMEOUT_MS = 3000

export class MachineClient {
  readonly spec: MachineSpec
  readonly #options: MachineClientOptions
  readonly #model: MachineModel
  readonly #log: Logger
  readonly #clock: () => number
  readonly #address: MachineAddress
  readonly #client: mqtt.MqttClient
  readonly #failures = new RepeatFilter()
  readonly #reconnectPeriodMs: number
  #tickTimer: NodeJS.Timeout | undefined
  #telemetryTimer: NodeJS.Timeout | undefined
  #everConnected = false
  #failedThisAttempt = false
  #connectedThisAttempt = false
  #attempts = 0
  #commandsReceived = 0
  #stopping: Promise<void> | undefined

  constructor (options: MachineClientOptions) {
    this.#options = options
    this.#model = options.model
    this.spec = options.model.spec
    this.#log = options.logger.child({ machine: this.spec.id })
    this.#clock = options.clock ?? Date.now
    this.#address = { site: options.site, line: this.spec.line, machine: this.spec.id }
    this.#reconnectPeriodMs = options.reconnectPeriodMs ?? 2000
    const id = this.spec.id
    this.#client = mqtt.connect(options.brokerUrl, {
      clientId: id,
      username: id,
      password: options.password,
      // A persistent session: QoS 1 commands sent while the machine is away wait for it.
      clean: false,
      protocolVersion: 4,
      keepalive: 30,
      reconnectPeriod: this.#reconnectPeriodMs,
      // Keep retrying after a refusal too: the operator may be fixing the secret right now.
      reconnectOnConnackError: true,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      // Stale telemetry is worthless; never pile it up while offline.
      queueQoSZero: false,
      // We subscribe on every connect ourselves (the session may be new).
      resubscribe: false,
      will: this.#will()
    })
    this.#client.on('connect', (connack) => this.#onConnect(connack.sessionPresent))
    this.#client.on('reconnect', () => this.#onReconnect())
    this.#client.on('error', (err) => this.#onError(err))
    this.#client.on('close', () => this.#onClose())
    this.#client.on('message', (topic, payload) => this.#onMessage(topic, payload))
    this.#startTimers()
  }

  get connected (): boolean { return this.#client.connected }

  status (): MachineStatus {
    return {
      id: this.spec.id,
      line: this.spec.line,
      kind: this.spec.kind,
      state: this.#model.state,
      ratePercent: this.#model.ratePercent,
      partCount: this.#model.partCount,
      scrapCount: this.#model.scrapCount,
      connected: this.#client.connected,
      commandsReceived: this.#commandsReceived
    }
  }

  /**
   * Stops cleanly: retained OFFLINE "simulator stopped", then DISCONNECT (so
   * the will does not fire). Safe to call twice.
   */
  stop (): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop (): Promise<void> {
    clearInterval(this.#tickTimer)
    clearInterval(this.#telemetryTimer)
    const id = this.spec.id
    if (!this.#client.connected) {
      this.#log.warn(`${id}: stopped while not connected; its retained state stays as the broker last had it`)
      await this.#client.endAsync(true)
      return
    }
    const offline: MachineStateMessage = { state: 'OFFLINE', reason: 'simulator stopped', ts: this.#clock() }
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        this.#client.publishAsync(this.#topic('state'), JSON.stringify(offline), { qos: 1, retain: true }),
        new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no PUBACK within ${STOP_PUBLISH_TIMEOUT_MS} ms`)), STOP_PUBLISH_TIMEOUT_MS) })
      ])
      await this.#client.endAsync()
    } catch (err) {
      this.#log.warn({ err }, `${id}: could not publish OFFLINE before stopping (${(err as Error).message}); the broker will publish its last will`)
      await this.#client.endAsync(true)
    } finally {
      clearTimeout(timer)
    }
  }

  #startTimers (): void {
    const interval = this.#options.telemetryIntervalMs
    // Physics and chance at least once a second, so faults are published promptly even with slow telemetry.
    this.#tickTimer = setInterval(() => this.#guard('tick', () => this.#publishEvents(this.#model.advance(this.#clock()))), Math.min(interval, 1000))
    this.#telemetryTimer = setInterval(() => this.#guard('telemetry', () => this.#publishTelemetry()), interval)
  }

  #onConnect (sessionPresent: boolean): void {
    const id = this.spec.id
    const url = this.#options.brokerUrl
    if (!this.#everConnected) {
      this.#log.info(`${id}: connected to ${url} (${this.spec.line}, ${this.spec.kind}, ${this.#model.state})`)
    } else {
      this.#log.info(`${id}: reconnected to ${url} after ${this.#attempts} attempt(s)${sessionPresent ? '; session resumed' : '; new session'}`)
    }
    this.#everConnected = true
    this.#connectedThisAttempt = true
    this.#attempts = 0
    this.#failures.reset()
    this.#client.subscribe(this.#topic('cmd'), { qos: 1 }, (err, granted) => {
      if (err) this.#log.error({ err }, `${id}: could not subscribe to its commands: ${err.message}`)
      else if (granted?.[0]?.qos === 128) this.#log.error(`${id}: the broker refused the subscription to ${this.#topic('cmd')}: commands will not arrive (check the ACL)`)
    })
    const info: MachineInfo = {
      machine: id,
      line: this.spec.line,
      site: this.#options.site,
      kind: this.spec.kind,
      name: this.spec.name,
      idealPartsPerMinute: this.spec.idealPartsPerMinute
    }
    this.#publish('info', info, 1, true)
    // The will may have replaced the retained state while we were away: say the real one again.
    this.#publish('state', this.#model.stateMessage(), 1, true)
  }

  #onReconnect (): void {
    this.#attempts++
    this.#failedThisAttempt = false
    this.#connectedThisAttempt = false
    // A will is fixed at CONNECT; give it this attempt's time.
    this.#client.options.will = this.#will()
  }

  #onError (err: Error & { code?: unknown }): void {
    this.#failedThisAttempt = true
    const message = describeConnectionError(err)
    const count = this.#failures.admit(message)
    if (count === undefined) return
    const retry = `retrying every ${this.#reconnectPeriodMs / 1000} s`
    this.#log.warn({ err: err.message, code: err.code }, `${this.spec.id}: ${this.#options.brokerUrl}: ${message}${count > 1 ? ` (${count} attempts so far)` : ''}; ${retry}`)
  }

  #onClose (): void {
    if (this.#stopping !== undefined) return
    if (this.#connectedThisAttempt) {
      this.#connectedThisAttempt = false
      this.#log.warn(`${this.spec.id}: connection to ${this.#options.brokerUrl} lost; reconnecting every ${this.#reconnectPeriodMs / 1000} s`)
      return
    }
    if (this.#failedThisAttempt) return // the error said why
    const count = this.#failures.admit('closed before CONNACK')
    if (count !== undefined) {
      this.#log.warn(`${this.spec.id}: ${this.#options.brokerUrl}: the connection closed before the broker answered (unreachable, not an MQTT broker, or it dropped us)${count > 1 ? ` (${count} attempts so far)` : ''}; retrying every ${this.#reconnectPeriodMs / 1000} s`)
    }
  }

  #onMessage (topic: string, payload: Buffer): void {
    if (topic !== this.#topic('cmd')) return
    this.#guard('command', () => {
      this.#commandsReceived++
      const now = this.#clock()
      const parsed = parseCommand(payload, now)
      const id = this.spec.id
      if (!parsed.ok) {
        const preview = payload.subarray(0, 200).toString('utf8')
        if (parsed.id === undefined) {
          this.#log.warn(`${id}: ignored a command it cannot answer (no readable id): ${parsed.error}; payload: ${preview}`)
          return
        }
        this.#log.warn(`${id}: refused command ${parsed.id}: ${parsed.error}`)
        this.#publishEvents(this.#model.advance(now))
        this.#publishAck({ id: parsed.id, ok: false, state: this.#model.state, error: parsed.error, ts: now })
        return
      }
      const { ack, events } = this.#model.handle(parsed.command, now)
      this.#log.info(`${id}: command ${parsed.command.action} (${parsed.command.id}) by ${parsed.command.by ?? 'unknown'}: ${ack.ok ? 'done' : `refused, ${ack.error}`}; now ${ack.state}`)
      this.#publishEvents(events)
      this.#publishAck(ack)
    })
  }

  #publishEvents (events: ModelEvent[]): void {
    for (const event of events) {
      if (event.type === 'state') {
        // Offline: skip; the state is published again on reconnect, and a queued stale one could arrive after it.
        if (this.#client.connected) this.#publish('state', event.message, 1, true)
      } else {
        this.#log.warn(`${this.spec.id}: alarm ${event.alarm.code} (${event.alarm.severity}): ${event.alarm.message}`)
        this.#publish('alarm', event.alarm, 1, false)
      }
    }
  }

  #publishAck (ack: CommandAck): void {
    this.#publish('cmd/ack', ack, 1, false)
  }

  #publishTelemetry (): void {
    this.#publishEvents(this.#model.advance(this.#clock()))
    if (this.#client.connected) this.#publish('telemetry', this.#model.telemetry(), 0, false)
  }

  #publish (channel: MachineChannel, body: object, qos: 0 | 1, retain: boolean): void {
    // Once stopping, only the OFFLINE state (published by #stop) may go out.
    if (this.#stopping !== undefined) return
    this.#client.publish(this.#topic(channel), JSON.stringify(body), { qos, retain }, (err) => {
      if (err) this.#log.warn(`${this.spec.id}: could not publish ${channel}: ${err.message}`)
    })
  }

  #topic (channel: MachineChannel): string {
    return machineTopic(this.#address, channel)
  }

  #will (): mqtt.IClientOptions['will'] {
    const offline: MachineStateMessage = { state: 'OFFLINE', reason: 'connection lost', ts: this.#clock() }
    return { topic: this.#topic('state'), payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true }
  }

  /** Runs a handler so that a bug in it is logged, never thrown into mqtt.js or a timer. */
  #guard (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#log.error({ err }, `${this.spec.id}: ${what} failed: ${(err as Error).message}`)
    }
  }
}
