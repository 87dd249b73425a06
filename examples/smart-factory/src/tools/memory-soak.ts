#!/usr/bin/env node
/**
 * The memory soak: runs the demo as `npm start` does (server + simulator,
 * SQLite in a temp dir) for DURATION_S seconds (default 600) with a
 * dashboard-like MQTT subscriber on `factory/<site>/#`, and samples the
 * server process's resident set size (RSS, from /proc) every SAMPLE_S
 * seconds (default 10). Prints the samples and the growth from the first
 * minute to the last. Not part of `npm test`: run it with
 *
 *   node dist/src/tools/memory-soak.js
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import mqtt from 'mqtt'
import { PACKAGE_DIR } from '../server/server.js'

const durationS = Number(process.env.DURATION_S ?? 600)
const sampleS = Number(process.env.SAMPLE_S ?? 10)
const dataDir = mkdtempSync(path.join(tmpdir(), 'smart-factory-soak-'))

function rssMiB (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

const child = spawn(process.execPath, [path.join(PACKAGE_DIR, 'dist/src/main.js')], {
  env: { ...process.env, PORT: '0', MQTT_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit']
})
let out = ''
child.stdout.on('data', (d: Buffer) => { out += d.toString() })
const deadline = Date.now() + 20_000
while (!/Simulator started/.test(out)) {
  if (child.exitCode !== null || Date.now() > deadline) { console.error(`the demo did not start:\n${out}`); process.exit(1) }
  await new Promise(resolve => setTimeout(resolve, 100))
}
const mqttUrl = /MQTT over TCP\s+(mqtt:\/\/\S+)/.exec(out)![1]!
const site = /at site "([^"]+)"/.exec(out)?.[1] ?? 'berlin'

let messages = 0
const watcher = await mqtt.connectAsync(mqttUrl, { username: 'viewer', password: 'viewer', reconnectPeriod: 0 })
watcher.on('message', () => { messages++ })
await watcher.subscribeAsync(`factory/${site}/#`, { qos: 1 })

const samples: Array<{ s: number, rss: number, messages: number }> = []
const started = Date.now()
console.log(`soak: ${durationS} s, sampling the server's RSS every ${sampleS} s (pid ${child.pid})`)
while ((Date.now() - started) / 1000 < durationS) {
  await new Promise(resolve => setTimeout(resolve, sampleS * 1000))
  const s = Math.round((Date.now() - started) / 1000)
  samples.push({ s, rss: rssMiB(child.pid!), messages })
  console.log(`${String(s).padStart(5)} s  RSS ${samples.at(-1)!.rss.toFixed(1).padStart(6)} MiB  messages seen ${messages}`)
}

await watcher.endAsync()
child.kill('SIGTERM')
const code = await new Promise(resolve => child.once('exit', (c, sig) => resolve(c ?? sig)))
rmSync(dataDir, { recursive: true, force: true })

const perMinute = Math.max(1, Math.round(60 / sampleS))
const avg = (xs: typeof samples): number => xs.reduce((a, b) => a + b.rss, 0) / Math.max(1, xs.length)
const first = avg(samples.slice(0, perMinute))
const last = avg(samples.slice(-perMinute))
const peak = Math.max(...samples.map(x => x.rss))
console.log(`\nfirst minute avg ${first.toFixed(1)} MiB, last minute avg ${last.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB, ` +
  `growth ${(last - first).toFixed(1)} MiB (${((last - first) / first * 100).toFixed(1)} %); ${messages} messages to the watcher; the demo exited with ${String(code)}`)
