#!/usr/bin/env node
/**
 * `npm start`: the whole demo in one process tree. Starts the factory server
 * (broker, line controller, dashboard) and spawns the machine simulator as a
 * child process that connects over MQTT/TCP like real machines would.
 *
 *   PORT (3000)       dashboard, API and MQTT over WebSocket
 *   MQTT_PORT (1883)  MQTT over TCP, for machines
 *   HOST (127.0.0.1)  address to bind
 *   --no-simulator    broker + dashboard only (run machines elsewhere)
 *   --simulator-only  only the machines, against a broker elsewhere (--broker URL)
 *   --in-memory       no SQLite file (nothing survives a restart)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { isEmbedmqError, portFromEnv, type LogLevel } from '@embedmq/core'
import { ConsoleLogger } from './server/console-logger.js'
import { defaultPlant } from './shared/plant.js'
import { createFactoryServer, PACKAGE_DIR, PortInUseError, type FactoryServer } from './server/server.js'
import { DEMO_USERS, usersFromEnv } from './server/users.js'

const USAGE = `Usage: node dist/src/main.js [--no-simulator] [--in-memory]
       node dist/src/main.js --simulator-only [--broker mqtt://host:1883]

Environment: PORT (3000), MQTT_PORT (1883), HOST (127.0.0.1), DATA_DIR (data/ in this example),
SITE (berlin), LINES (2), FACTORY_USERS (JSON users), MACHINE_SECRET, SESSION_SECRET,
ALLOWED_ORIGINS (comma-separated extra dashboard origins), FACTORY_PERSISTENCE (sqlite|memory),
LOG_LEVEL (info).`

const SIMULATOR = path.join(PACKAGE_DIR, 'dist/src/simulator/main.js')

function fail (message: string): never {
  console.error(message)
  process.exit(1)
}

function portFrom (name: string, fallback: number): number {
  try {
    return portFromEnv(name, fallback)
  } catch (err) {
    return fail((err as Error).message)
  }
}

function positiveInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 50) fail(`${name}=${raw} must be a whole number from 1 to 50`)
  return n
}

const OPTIONS = {
  'no-simulator': { type: 'boolean' },
  'simulator-only': { type: 'boolean' },
  broker: { type: 'string' },
  'in-memory': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

function parseFlags (): ReturnType<typeof parseArgs<{ options: typeof OPTIONS, strict: true }>>['values'] {
  try {
    return parseArgs({ options: OPTIONS, strict: true }).values
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`)
  }
}

const args = parseFlags()
if (args.help) { console.log(USAGE); process.exit(0) }

if (args['simulator-only'] === true) {
  // Machines only, e.g. on another host than the dashboard: the simulator's own CLI does the work.
  const broker = args.broker ?? process.env.BROKER_URL ?? `mqtt://127.0.0.1:${portFrom('MQTT_PORT', 1883)}`
  const child = spawn(process.execPath, [SIMULATOR, '--broker', broker, '--site', process.env.SITE ?? 'berlin', '--lines', String(positiveInt('LINES', 2))], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else {
  await runServer()
}

async function runServer (): Promise<void> {
  const persistence = args['in-memory'] === true ? 'memory' : (process.env.FACTORY_PERSISTENCE ?? 'sqlite')
  if (persistence !== 'sqlite' && persistence !== 'memory') fail(`FACTORY_PERSISTENCE=${persistence}: use sqlite or memory`)
  const site = process.env.SITE ?? 'berlin'
  const lines = positiveInt('LINES', 2)
  const plant = defaultPlant({ site, lines })
  let users
  try {
    users = usersFromEnv(process.env.FACTORY_USERS)
  } catch (err) {
    fail((err as Error).message)
  }

  let factory: FactoryServer
  try {
    factory = await createFactoryServer({
      port: portFrom('PORT', 3000),
      mqttPort: portFrom('MQTT_PORT', 1883),
      host: process.env.HOST ?? '127.0.0.1',
      persistence,
      plant,
      logger: new ConsoleLogger((process.env.LOG_LEVEL ?? 'info') as LogLevel),
      ...(process.env.DATA_DIR ? { dataDir: process.env.DATA_DIR } : {}),
      ...(users ? { users } : {}),
      ...(process.env.SESSION_SECRET ? { sessionSecret: process.env.SESSION_SECRET } : {}),
      ...(process.env.ALLOWED_ORIGINS ? { allowedOrigins: process.env.ALLOWED_ORIGINS.split(',').map(s => s.trim()).filter(Boolean) } : {})
    })
  } catch (err) {
    if (err instanceof PortInUseError) fail(err.message)
    fail(isEmbedmqError(err) || err instanceof Error ? err.message : String(err))
  }

  const mqttPort = new URL(factory.urls.mqtt).port
  const logins = (users ?? DEMO_USERS).map(u => `${u.username}${u.password && !users ? ` / ${u.password}` : ''} (${u.role})`).join(', ')
  console.log([
    '',
    `embedmq smart factory: ${plant.machines.length} machines on ${plant.lines.length} lines at site "${site}"`,
    `  Dashboard          ${factory.urls.http}`,
    `  MQTT over TCP      ${factory.urls.mqtt}   (machines; users with their password)`,
    `  MQTT over WS       ${factory.urls.ws}   (the dashboard, by session cookie)`,
    `  Logins             ${logins}`,
    `  Persistence        ${persistence === 'sqlite' ? 'SQLite in ' + (process.env.DATA_DIR ?? path.join(PACKAGE_DIR, 'data')) : 'in memory (nothing survives a restart)'}`,
    '',
    `Watch:  mosquitto_sub -h 127.0.0.1 -p ${mqttPort} -u viewer -P viewer -t 'factory/${site}/#' -v`,
    ''
  ].join('\n'))

  let simulator: ChildProcess | undefined
  if (args['no-simulator'] !== true) {
    if (!existsSync(SIMULATOR)) {
      console.error(`the simulator is not built (${SIMULATOR} is missing); run npm run build, or start with --no-simulator`)
    } else {
      const broker = `mqtt://127.0.0.1:${mqttPort}`
      // The environment says the same as the flags: with PORT/MQTT_PORT=0 ours would name port 0, not the bound one.
      simulator = spawn(process.execPath, [SIMULATOR, '--broker', broker, '--site', site, '--lines', String(lines)], {
        stdio: 'inherit',
        env: { ...process.env, MQTT_PORT: mqttPort, BROKER_URL: broker, SITE: site, LINES: String(lines) }
      })
      simulator.on('exit', (code, signal) => {
        if (!stopping) console.error(`simulator exited (${signal ?? `code ${code}`}); the dashboard keeps running, machines show OFFLINE`)
        simulator = undefined
      })
      console.log(`Simulator started (pid ${simulator.pid}).`)
    }
  }
  console.log('Ctrl-C stops everything.\n')

  let stopping = false
  /**
   * Simulator first, so its machines disconnect cleanly before the broker
   * closes. On Ctrl-C the terminal has sent SIGINT to the simulator too (same
   * process group): give it time to finish on its own before insisting.
   */
  async function shutdown (signal: NodeJS.Signals): Promise<void> {
    const child = simulator
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
      const term = setTimeout(() => child.kill('SIGTERM'), signal === 'SIGINT' ? 3000 : 0)
      const kill = setTimeout(() => child.kill('SIGKILL'), 8000)
      await exited
      clearTimeout(term)
      clearTimeout(kill)
    }
    await factory.stop()
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1)       // a second Ctrl-C: give up waiting
    stopping = true
    shutdown(signal).then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
