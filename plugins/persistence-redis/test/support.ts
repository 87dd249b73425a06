import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import mqtt from 'mqtt'
import type { Received } from '@embedmq/testing'

/** The shared Redis the test command starts (or that runs on this machine). */
export const SHARED_REDIS = { host: '127.0.0.1', port: 6379 }

/** A key prefix of its own for one test, so tests never see each other's keys or channels. */
export function uniquePrefix (label: string): string {
  return `embedmq-test:${label}:${randomUUID().slice(0, 8)}:`
}

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deleteKeys (prefix: string, port = SHARED_REDIS.port): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys)
    }
  } finally {
    redis.disconnect()
  }
}

/** Keys under `prefix` (without it), to assert what is stored. */
export async function listKeys (prefix: string, port = SHARED_REDIS.port): Promise<string[]> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const found: string[] = []
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) found.push(...keys)
    return found.map(k => k.slice(prefix.length)).sort()
  } finally {
    redis.disconnect()
  }
}

/** A free loopback TCP port. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

/**
 * A redis-server child process of the test's own, with an append-only file in a
 * temporary folder, so a test can stop it and start it again with its data.
 */
export class OwnRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'embedmq-redis-'))
  #child: ChildProcess | undefined

  constructor (readonly port: number) {}

  static async create (): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort())
    await redis.start()
    return redis
  }

  async start (): Promise<void> {
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'always', '--dir', this.dir
    ], { stdio: 'ignore' })
    this.#child = child
    const deadline = Date.now() + 10_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`)
      const probe = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => undefined)
      try {
        await probe.connect()
        await probe.ping()
        return
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer within 10 s`)
        await new Promise(resolve => setTimeout(resolve, 50))
      } finally {
        probe.disconnect()
      }
    }
  }

  /** Stops it (SIGTERM, or SIGKILL for a crash) and waits until it is gone. */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }

  async destroy (): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Closes mqtt.js clients and test brokers at the end of a test, whatever happened. */
export class Cleanup {
  readonly #tasks: Array<() => Promise<unknown>> = []
  add<T extends { end?: (force: boolean) => unknown, stop?: () => Promise<unknown> }> (thing: T): T {
    this.#tasks.push(async () => {
      if (thing.stop) await thing.stop()
      else if (thing.end) await thing.end(true)
    })
    return thing
  }

  defer (task: () => Promise<unknown>): void { this.#tasks.push(task) }

  async run (): Promise<void> {
    for (const task of this.#tasks.splice(0).reverse()) await task().catch(() => undefined)
  }
}

/**
 * Connects and records every message from the first byte: a persistent session's queued
 * messages follow the CONNACK in the same read, before `connectAsync` resolves, so a listener
 * added after it would miss them.
 */
export async function connectRecording (url: string, options: mqtt.IClientOptions): Promise<{ client: mqtt.MqttClient, got: Received[] }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
  const got: Received[] = []
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new Error('closed before CONNACK')))
  })
  return { client, got }
}
