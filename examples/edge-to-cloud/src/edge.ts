#!/usr/bin/env node
/**
 * The edge app (process 1 of the demo): an embedmq in the factory, with
 * machines publishing QoS 1 telemetry on it, a bridge that forwards the line's
 * topics to the central broker and takes commands back, and SQLite
 * persistence so telemetry queued while the central broker is away survives
 * a restart of the edge too.
 */
import { fileURLToPath } from 'node:url'
import { createBroker, isEmbedmqError, type Broker } from '@embedmq/core'
import { bridgeMqtt } from '@embedmq/bridge-mqtt'
import { sqlitePersistence } from '@embedmq/persistence-sqlite'
import { portFrom, say, stopOnSignals } from './env.js'

export interface EdgeOptions {
  /** The central broker: a second embedmq (src/central.ts), or any MQTT broker, e.g. mqtt://127.0.0.1:1883 for a local Mosquitto. */
  centralUrl: string
  /** The edge's own MQTT port, for machines on the shop floor. */
  port: number
  host?: string
  site?: string
  databaseFile: string
  /** How often each simulated machine publishes telemetry. */
  telemetryEveryMs?: number
  /** Simulated machines on line 1. */
  machines?: string[]
}

export interface Edge {
  broker: Broker
  stop (): Promise<void>
}

export async function startEdge (options: EdgeOptions): Promise<Edge> {
  const site = options.site ?? 'berlin'
  const broker = createBroker({
    id: `edge-${site}`,
    allowAnonymous: true,
    // The demo prints bridge state changes itself; warn lines (JSON) would repeat them.
    logLevel: 'error',
    listeners: [{ type: 'tcp', port: options.port, host: options.host ?? '127.0.0.1' }],
    plugins: [
      sqlitePersistence({ file: options.databaseFile }),
      bridgeMqtt({
        bridges: [{
          name: 'central',
          url: options.centralUrl,
          clientId: `edge-${site}`,
          reconnect: { initialDelayMs: 500, maxDelayMs: 5000, jitter: 0.3 },
          topics: [
            // Telemetry, states and acks of line 1 go up…
            { pattern: 'line1/#', direction: 'out', qos: 1, localPrefix: 'factory/', remotePrefix: `sites/${site}/` },
            // …commands come down.
            { pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'factory/', remotePrefix: `sites/${site}/` }
          ]
        }]
      })
    ]
  })
  // Connected and disconnected are the news; 'connecting' between retries is not.
  broker.on('bridgeState', (s) => s.state !== 'connecting' && say(`edge: bridge "${s.name}" ${s.state}${s.reason ? ` (${s.reason})` : ''}`))
  await broker.start()

  // Commands from the central app reach machines here; each is acknowledged back up.
  await broker.subscribe('factory/cmd/+', async (m) => {
    const machine = m.topic.split('/')[2]!
    say(`edge: command for ${machine}: ${m.payload.toString()}`)
    await broker.publish(`factory/line1/${machine}/ack`, JSON.stringify({ received: JSON.parse(m.payload.toString()) as unknown, ts: Date.now() }), { qos: 1 })
  })

  // Simulated machines: QoS 1 telemetry with a sequence number, so a gap would show.
  const machines = options.machines ?? ['press-1', 'cnc-1']
  const seq = new Map(machines.map(m => [m, 0]))
  const timer = setInterval(() => {
    for (const machine of machines) {
      const n = seq.get(machine)! + 1
      seq.set(machine, n)
      const payload = JSON.stringify({ seq: n, ts: Date.now(), temperature: Math.round((40 + 10 * Math.random()) * 10) / 10 })
      broker.publish(`factory/line1/${machine}/telemetry`, payload, { qos: 1 }).catch((err: Error) => say(`edge: telemetry not published: ${err.message}`))
    }
  }, options.telemetryEveryMs ?? 500)
  return {
    broker,
    async stop () {
      clearInterval(timer)
      await broker.stop()
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = portFrom('EDGE_PORT', 1885)
  const centralUrl = process.env.CENTRAL_URL ?? `mqtt://127.0.0.1:${portFrom('CENTRAL_PORT', 1884)}`
  try {
    const edge = await startEdge({ centralUrl, port, databaseFile: process.env.EDGE_DB ?? 'data/edge.db', telemetryEveryMs: Number(process.env.TELEMETRY_EVERY_MS ?? 500) })
    say(`edge: machines on ${edge.broker.addresses()[0]?.url ?? `port ${port}`}, bridged to ${centralUrl}`)
    stopOnSignals(() => edge.stop())
  } catch (err) {
    console.error(`edge: ${isEmbedmqError(err) || err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
}
