#!/usr/bin/env node
/**
 * The central broker (process 2 of the demo): an embedmq with SQLite
 * persistence, so subscribers' sessions and queued messages survive its
 * restart, and a small "cloud app" in process that watches telemetry and
 * sends commands down to the sites.
 */
import { fileURLToPath } from 'node:url'
import { createBroker, isEmbedmqError, type Broker } from '@embedmq/core'
import { sqlitePersistence } from '@embedmq/persistence-sqlite'
import { portFrom, say, stopOnSignals } from './env.js'

export interface CentralOptions {
  port: number
  host?: string
  /** SQLite file for sessions, queues and retained messages. */
  databaseFile: string
  /** Send a command to every site this often (0: never). */
  commandEveryMs?: number
}

export async function startCentral (options: CentralOptions): Promise<Broker> {
  const broker = createBroker({
    id: 'central',
    // A demo on loopback: anyone may connect. Give it @embedmq/auth-file (or JWT) before exposing it.
    allowAnonymous: true,
    logLevel: 'warn',
    listeners: [{ type: 'tcp', port: options.port, host: options.host ?? '127.0.0.1' }],
    plugins: [
      sqlitePersistence({ file: options.databaseFile }),
      {
        name: 'cloud-app',
        register () {},
        // Subscribed in start(), before the listener opens: after a restart nothing a bridge re-sends is missed.
        async start () {
          let received = 0
          await broker.subscribe('sites/+/line1/+/telemetry', () => { received++ })
          await broker.subscribe('sites/+/line1/+/ack', (m) => { say(`central: ${m.topic} ${m.payload.toString()}`) })
          const report = setInterval(() => { if (received > 0) say(`central: ${received} telemetry messages so far`) }, 5000)
          report.unref()
          if ((options.commandEveryMs ?? 0) > 0) {
            let n = 0
            const commands = setInterval(() => {
              const rate = [80, 100, 60][n++ % 3]
              broker.publish('sites/berlin/cmd/press-1', JSON.stringify({ action: 'set-rate', value: rate }), { qos: 1 })
                .then(() => say(`central: sent set-rate ${rate} to sites/berlin/cmd/press-1`), () => undefined)
            }, options.commandEveryMs)
            commands.unref()
          }
        }
      }
    ]
  })
  await broker.start()
  return broker
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = portFrom('CENTRAL_PORT', 1884)
  try {
    const broker = await startCentral({ port, databaseFile: process.env.CENTRAL_DB ?? 'data/central.db', commandEveryMs: Number(process.env.COMMAND_EVERY_MS ?? 10_000) })
    say(`central: listening on ${broker.addresses()[0]?.url ?? `port ${port}`}`)
    stopOnSignals(() => broker.stop())
  } catch (err) {
    console.error(`central: ${isEmbedmqError(err) || err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
}
