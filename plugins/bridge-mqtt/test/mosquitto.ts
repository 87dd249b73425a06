import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** A free loopback port (Mosquitto needs a number in its config; it cannot report an ephemeral one). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

async function accepting (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

export interface Mosquitto {
  port: number
  url: string
  /** SIGTERM (Mosquitto saves its persistence file), then wait for the exit. */
  stop (): Promise<void>
  /** Starts it again on the same port, with the same config and persistence. */
  start (): Promise<void>
  /** Stops it and removes its files. */
  dispose (): Promise<void>
  /** What it logged, for failure messages. */
  log (): string
}

/**
 * A real Mosquitto (Debian package `mosquitto`) on a free port, with a config
 * written here: anonymous or a password file, persistence on so sessions
 * survive a restart.
 */
export async function startMosquitto (options: { users?: Record<string, string> } = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'embedmq-mosquitto-'))
  const port = await freePort()
  const lines = [
    `listener ${port} 127.0.0.1`,
    // Run as root, Mosquitto would drop to user "mosquitto", who cannot read this private temp folder.
    `user ${userInfo().username}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information'
  ]
  if (options.users) {
    const passwd = join(dir, 'passwd')
    writeFileSync(passwd, '')
    for (const [user, password] of Object.entries(options.users)) {
      const made = spawnSync('mosquitto_passwd', ['-b', passwd, user, password])
      if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr.toString()}`)
    }
    lines.push('allow_anonymous false', `password_file ${passwd}`)
  } else {
    lines.push('allow_anonymous true')
  }
  const config = join(dir, 'mosquitto.conf')
  writeFileSync(config, lines.join('\n') + '\n')
  let child: ChildProcess | undefined
  let output = ''
  const start = async (): Promise<void> => {
    child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
    const deadline = Date.now() + 10_000
    while (!(await accepting(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start on port ${port}:\n${output}`)
      await sleep(25)
    }
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise(resolve => running.once('exit', resolve))
    running.kill('SIGTERM')
    await exited
  }
  await start()
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop,
    start,
    dispose: async () => { await stop(); rmSync(dir, { recursive: true, force: true }) },
    log: () => output
  }
}
