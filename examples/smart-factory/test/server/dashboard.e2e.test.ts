/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core; no browser download): the factory server on ephemeral
 * ports with a temp SQLite dir, every machine of the default plant a real
 * mqtt.js client (FakeMachine) over TCP, and the dashboard page logged in
 * through the form, connected over MQTT/WebSocket by its session cookie.
 */
import assert from 'node:assert/strict'
import { chromium, type Browser, type Page } from 'playwright-core'
import { MemoryLogger } from '@embedmq/core'
import { CHROMIUM_ARGS, requireChromium, tempDirs, testArtifactPath } from '@embedmq/testing'
import { createFactoryServer, type FactoryServer } from '../../src/server/server.js'
import { defaultPlant } from '../../src/shared/plant.js'
import { FakeMachine } from './helpers/fake-machine.js'
import { startMain } from './helpers/main-process.js'

/** What the page functions below use of the DOM (they run in the browser; the package compiles without lib.dom). */
declare const document: { querySelectorAll (selector: string): ArrayLike<{ getAttribute (name: string): string | null }> }


async function logIn (page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/login`)
  await page.fill('#username', username)
  await page.fill('#password', password)
  await Promise.all([page.waitForURL(`${base}/`), page.click('#submit')])
  await page.locator('[data-testid="mqtt-status"][data-status="connected"]').waitFor({ timeout: 10_000 })
}

/** Every tile's telemetry timestamp (data-ts), by machine id. */
function tileStamps (page: Page): Promise<Record<string, string | null>> {
  return page.evaluate(() => {
    const out: Record<string, string | null> = {}
    const tiles = document.querySelectorAll('[data-testid^="tile-"]')
    for (let i = 0; i < tiles.length; i++) out[tiles[i]!.getAttribute('data-machine')!] = tiles[i]!.getAttribute('data-ts')
    return out
  })
}

describe('smart-factory dashboard in headless Chromium', function () {
  this.timeout(90_000)
  const plant = defaultPlant()
  const dirs = tempDirs('smart-factory-e2e-')
  let browser: Browser | undefined
  let factory: FactoryServer | undefined
  const machines: FakeMachine[] = []

  before(async () => {
    factory = await createFactoryServer({ port: 0, mqttPort: 0, dataDir: await dirs.make(), plant, logger: new MemoryLogger() })
    for (const spec of plant.machines) {
      const m = await new FakeMachine(factory.urls.mqtt, plant.site, spec).connect()
      m.startTelemetry(250)
      machines.push(m)
    }
    browser = await chromium.launch({ executablePath: requireChromium(), args: [...CHROMIUM_ARGS] })
  })
  after(async () => {
    await browser?.close()
    await Promise.all(machines.map(m => m.close().catch(() => undefined)))
    await factory?.stop()
    await dirs.remove()
  })

  it('operator: live telemetry on every tile, stop with ack, fault and alarm acknowledgement', async () => {
    const base = factory!.urls.http
    const page = await (await browser!.newContext({ viewport: { width: 1600, height: 1000 } })).newPage()
    await logIn(page, base, 'operator', 'operator')
    assert.equal(await page.textContent('[data-testid="user"]'), 'operator')
    assert.equal(await page.textContent('[data-testid="role"]'), 'operator')

    // 1. Every tile shows telemetry, and every tile's values keep updating.
    await page.waitForFunction(() => {
      const tiles = document.querySelectorAll('[data-testid^="tile-"]')
      for (let i = 0; i < tiles.length; i++) if (!tiles[i]!.getAttribute('data-ts')) return false
      return tiles.length > 0
    }, null, { timeout: 10_000 })
    const first = await tileStamps(page)
    assert.deepEqual(Object.keys(first).sort(), plant.machines.map(m => m.id).sort())
    let later = first
    const deadline = Date.now() + 10_000
    while (Object.keys(first).some(id => later[id] === first[id]) && Date.now() < deadline) {
      await page.waitForTimeout(200)
      later = await tileStamps(page)
    }
    assert.deepEqual(Object.keys(first).filter(id => later[id] === first[id]), [], 'tiles whose telemetry did not update')
    for (const spec of plant.machines) {
      assert.match((await page.textContent(`[data-testid="temp-${spec.id}"]`)) ?? '', /^\d+\.\d$/, `${spec.id} shows a temperature`)
      assert.equal(await page.getAttribute(`[data-testid="state-${spec.id}"]`, 'data-state'), 'RUNNING')
    }

    // 2. Stop one machine: its tile changes state once the machine acknowledges.
    const stopped = plant.machines[1]!
    await page.click(`[data-testid="cmd-stop-${stopped.id}"]`)
    await page.locator(`[data-testid="state-${stopped.id}"][data-state="IDLE"]`).waitFor({ timeout: 10_000 })
    await page.locator('[data-testid="toast"]', { hasText: `${stopped.id}: stop acknowledged` }).waitFor({ timeout: 10_000 })
    assert.equal(machines[1]!.received.at(-1)?.by, 'operator', 'the command carried who sent it')

    // 3. Trigger a fault: the tile turns FAULT and an alarm appears in the list.
    const faulty = plant.machines[3]!
    await page.click(`[data-testid="cmd-fault-${faulty.id}"]`)
    await page.locator(`[data-testid="tile-${faulty.id}"][data-state="FAULT"]`).waitFor({ timeout: 10_000 })
    const row = page.locator(`[data-testid^="alarm-"][data-machine="${faulty.id}"]`)
    await row.and(page.locator('[data-code="E-TEST"]')).waitFor({ timeout: 10_000 })
    assert.equal(await row.getAttribute('data-severity'), 'critical')
    assert.equal(await row.getAttribute('data-acknowledged'), 'false')
    await page.waitForTimeout(2500)                 // a little chart history and OEE for the screenshot
    await page.screenshot({ path: await testArtifactPath('smart-factory-dashboard.png'), fullPage: true })

    // 4. Acknowledge it: the row says who; after a reset clears the fault, the alarm is gone.
    await row.locator('[data-testid^="ack-"]').click()
    await page.locator(`[data-testid^="alarm-"][data-machine="${faulty.id}"][data-acknowledged="true"]`).waitFor({ timeout: 10_000 })
    assert.match((await row.textContent()) ?? '', /ack operator/)
    await page.click(`[data-testid="cmd-reset-${faulty.id}"]`)
    await page.locator(`[data-testid="state-${faulty.id}"][data-state="IDLE"]`).waitFor({ timeout: 10_000 })
    await row.waitFor({ state: 'detached', timeout: 10_000 })

    // 5. Line OEE is shown for every line.
    for (const line of plant.lines) {
      await page.locator(`[data-testid="oee-${line}"]`, { hasText: '%' }).waitFor({ timeout: 10_000 })
    }

    // 6. A machine whose connection dies: its last will marks the tile OFFLINE.
    const lost = machines[5]!
    lost.kill()
    await page.locator(`[data-testid="state-${lost.spec.id}"][data-state="OFFLINE"]`).waitFor({ timeout: 15_000 })
    await page.context().close()
  })

  it('viewer: watches, has no command buttons, and a forced command is refused with 403', async () => {
    const base = factory!.urls.http
    const page = await (await browser!.newContext()).newPage()
    await logIn(page, base, 'viewer', 'viewer')
    const id = plant.machines[0]!.id
    await page.locator(`[data-testid="tile-${id}"][data-ts]`).waitFor({ timeout: 10_000 })
    assert.equal(await page.locator('[data-testid^="cmd-"]').count(), 0, 'no command buttons')
    assert.equal(await page.locator('[data-testid^="ack-"]').count(), 0, 'no acknowledge buttons')
    const status = await page.evaluate(async (machine) => {
      const res = await fetch(`/api/machines/${machine}/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'stop' }) })
      return res.status
    }, id)
    assert.equal(status, 403)
    assert.equal(machines[0]!.received.length, 0, 'the machine got no command')
    await page.context().close()
  })

  it('with the real simulator (npm start): every tile live; a screenshot of the running demo', async () => {
    const main = await startMain([], { DATA_DIR: await dirs.make(), TELEMETRY_INTERVAL_MS: '500' })
    try {
      const page = await (await browser!.newContext({ viewport: { width: 1600, height: 1000 } })).newPage()
      await logIn(page, main.http, 'operator', 'operator')
      await page.waitForFunction(() => {
        const tiles = document.querySelectorAll('[data-testid^="tile-"]')
        for (let i = 0; i < tiles.length; i++) if (!tiles[i]!.getAttribute('data-ts')) return false
        return tiles.length === 12
      }, null, { timeout: 15_000 })
      await page.waitForTimeout(8000)               // chart history
      await page.screenshot({ path: await testArtifactPath('smart-factory-live.png'), fullPage: true })
      await page.context().close()
    } finally {
      assert.equal(await main.stop(), 0)
    }
  })
})
