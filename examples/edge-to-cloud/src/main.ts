#!/usr/bin/env node
/**
 * `npm start` for the edge-to-cloud demo: runs the central broker and the
 * edge app as two processes, prefixing their output. Ctrl-C stops both.
 * `--restart-central N` restarts the central broker every N seconds, to watch
 * QoS 1 telemetry wait at the edge and arrive after it is back.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { portFrom, say } from './env.js'

const here = dirname(fileURLToPath(import.meta.url))
const dataDir = join(here, '..', '..', 'data')
mkdirSync(dataDir, { recursive: true })
const centralPort = portFrom('CENTRAL_PORT', 1884)
const edgePort = portFrom('EDGE_PORT', 1885)
const restartIndex = process.argv.indexOf('--restart-central')
const restartEverySeconds = restartIndex > 0 ? Number(process.argv[restartIndex + 1] ?? 20) : 0

function run (name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(here, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
  child.on('exit', (code, signal) => { if (!stopping) say(`${name} exited (${signal ?? code})`) })
  return child
}

let stopping = false
const startCentral = (): ChildProcess => run('central', 'central.js', { CENTRAL_PORT: String(centralPort), CENTRAL_DB: join(dataDir, 'central.db') })
let central = startCentral()
const edge = run('edge', 'edge.js', { CENTRAL_PORT: String(centralPort), EDGE_PORT: String(edgePort), EDGE_DB: join(dataDir, 'edge.db'), ...(process.env.CENTRAL_URL ? { CENTRAL_URL: process.env.CENTRAL_URL } : {}) })
say(`demo: central broker mqtt://127.0.0.1:${centralPort}, edge broker mqtt://127.0.0.1:${edgePort}`)
say(`demo: watch it with  mosquitto_sub -p ${centralPort} -t 'sites/#' -v`)

if (restartEverySeconds > 0) {
  setInterval(() => {
    say('demo: stopping the central broker; telemetry now waits at the edge')
    central.once('exit', () => setTimeout(() => { say('demo: starting the central broker again'); central = startCentral() }, 3000))
    central.kill('SIGTERM')
  }, restartEverySeconds * 1000)
}

const shutdown = (): void => {
  if (stopping) process.exit(1)
  stopping = true
  let left = 2
  const done = (): void => { if (--left === 0) process.exit(0) }
  for (const child of [central, edge]) {
    if (child.exitCode !== null || child.signalCode !== null) done()
    else { child.once('exit', done); child.kill('SIGTERM') }
  }
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
