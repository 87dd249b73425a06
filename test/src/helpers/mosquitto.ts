import { spawn, type ChildProcess } from 'node:child_process'
import type { Broker, ClientContext } from '@embedmq/core'
import { defer } from './cleanup.js'
import { uniqueId } from './mqtt-client.js'
import { nextEvent, within } from './wait.js'

export interface ProcessResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningProcess {
  child: ChildProcess
  /** Resolves when the process exits; rejects (and kills it) after the time limit. */
  result: Promise<ProcessResult>
}

/** The time a Mosquitto CLI client may run before it is killed and the test fails. */
const PROCESS_MS = 15_000

/**
 * Runs a Mosquitto CLI client (mosquitto_pub / mosquitto_sub) with a time
 * limit; it is killed after the test if it is still running.
 */
export function runMosquitto (command: 'mosquitto_pub' | 'mosquitto_sub', args: string[], ms = PROCESS_MS): RunningProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  defer(`kill ${command}`, () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const exited = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${command} could not be started (is Debian's mosquitto-clients installed?): ${err.message}`)))
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  const result = within(exited, `${command} ${args.join(' ')} to exit`, ms).catch((err: Error) => {
    child.kill('SIGKILL')
    throw new Error(`${err.message}\n  stdout: ${stdout}\n  stderr: ${stderr}`)
  })
  result.catch(() => undefined) // awaited by the test; never an unhandled rejection
  return { child, result }
}

/** Runs a Mosquitto CLI client to completion and checks it exited with status 0. */
export async function runToSuccess (command: 'mosquitto_pub' | 'mosquitto_sub', args: string[]): Promise<ProcessResult> {
  const result = await runMosquitto(command, args).result
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\n  stdout: ${result.stdout}\n  stderr: ${result.stderr}`)
  }
  return result
}

/** Output format for mosquitto_sub -F: topic, QoS, retain flag and payload, separated by '|'. */
export const SUB_FORMAT = '%t|%q|%r|%p'

export interface SubLine { topic: string, qos: number, retain: boolean, payload: string }

/** Parses mosquitto_sub output written with SUB_FORMAT. */
export function parseSubOutput (stdout: string): SubLine[] {
  return stdout.split('\n').filter(l => l.length > 0).map((line) => {
    const [topic = '', qos = '', retain = '', ...payload] = line.split('|')
    return { topic, qos: Number(qos), retain: retain === '1', payload: payload.join('|') }
  })
}

export interface MosquittoSubOptions {
  port: number
  topic: string
  qos?: 0 | 1 | 2
  /** Messages to receive before exiting (-C). */
  count?: number
  /** Seconds to wait for them (-W). */
  waitSeconds?: number
  clientId?: string
}

/** mosquitto_sub arguments printing each message as SUB_FORMAT. */
export function subArgs (o: MosquittoSubOptions & { clientId: string }): string[] {
  return ['-h', '127.0.0.1', '-p', String(o.port), '-i', o.clientId, '-t', o.topic, '-q', String(o.qos ?? 0),
    '-C', String(o.count ?? 1), '-W', String(o.waitSeconds ?? 10), '-F', SUB_FORMAT]
}

/** mosquitto_pub arguments for one message. */
export function pubArgs (o: { port: number, topic: string, message: string, qos?: 0 | 1 | 2, retain?: boolean, clientId: string }): string[] {
  return ['-h', '127.0.0.1', '-p', String(o.port), '-i', o.clientId, '-t', o.topic, '-q', String(o.qos ?? 0),
    ...(o.message === '' ? ['-n'] : ['-m', o.message]), ...(o.retain === true ? ['-r'] : [])]
}

/**
 * Starts mosquitto_sub and resolves once the broker has processed its
 * SUBSCRIBE (the broker's 'subscribed' event), so a publish made afterwards
 * is certain to be routed to it. Await `.result` for its output.
 */
export async function startMosquittoSub (broker: Broker, o: MosquittoSubOptions): Promise<RunningProcess> {
  const clientId = o.clientId ?? uniqueId('mosquitto-sub')
  const subscribed = nextEvent<[ClientContext]>(broker, 'subscribed', `mosquitto_sub ${clientId} to subscribe to "${o.topic}"`,
    (client) => client.clientId === clientId)
  const running = runMosquitto('mosquitto_sub', subArgs({ ...o, clientId }))
  const exitedEarly = running.result.then((r) => {
    throw new Error(`mosquitto_sub exited (${r.code ?? r.signal}) before subscribing\n  stdout: ${r.stdout}\n  stderr: ${r.stderr}`)
  })
  await Promise.race([subscribed, exitedEarly])
  return running
}
