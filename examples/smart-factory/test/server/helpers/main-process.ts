/** Runs `node dist/src/main.js` (what `npm start` runs) as a child process and reads its URLs from stdout. */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { PACKAGE_DIR } from '../../../src/server/server.js'

export interface MainProcess {
  child: ChildProcess
  http: string
  mqtt: string
  /** The simulator's pid, when it was started. */
  simulatorPid?: number
  output (): string
  /** SIGTERM, then the exit code (or signal) within `ms`. */
  stop (ms?: number): Promise<number | string>
}

export async function startMain (args: string[], env: Record<string, string>, ms = 20_000): Promise<MainProcess> {
  const child = spawn(process.execPath, [path.join(PACKAGE_DIR, 'dist/src/main.js'), ...args], {
    env: { ...process.env, PORT: '0', MQTT_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | string>(resolve => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const deadline = Date.now() + ms
  const ready = args.includes('--no-simulator') ? /Ctrl-C stops everything/ : /Simulator started \(pid (\d+)\)/
  while (!ready.test(out)) {
    if (child.exitCode !== null) throw new Error(`main.js exited with ${child.exitCode}: ${out}`)
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`main.js did not start within ${ms} ms: ${out}`) }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const http = /Dashboard\s+(http:\/\/\S+)/.exec(out)?.[1]
  const mqtt = /MQTT over TCP\s+(mqtt:\/\/\S+)/.exec(out)?.[1]
  if (!http || !mqtt) throw new Error(`main.js printed no URLs: ${out}`)
  const pid = /Simulator started \(pid (\d+)\)/.exec(out)?.[1]
  return {
    child,
    http,
    mqtt,
    ...(pid ? { simulatorPid: Number(pid) } : {}),
    output: () => out,
    async stop (stopMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), stopMs)
      try { return await exited } finally { clearTimeout(timer) }
    }
  }
}
