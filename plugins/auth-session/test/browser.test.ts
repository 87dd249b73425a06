/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser download): a user logs in through the app's
 * HTML form, and the app's page connects with mqtt.js' browser bundle to
 * ws://127.0.0.1:PORT/mqtt with no password and shows a message the test
 * publishes. A browser that did not log in, one whose cookies were cleared,
 * and a page on another origin riding the user's cookie are all refused.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { chromium, type Browser, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, eventually, requireChromium, testArtifactPath } from '@embedmq/testing'
import { servePage, startHostApp, type HostApp } from './helpers/host-app.js'

/** What the page functions below use of the DOM (they run in the browser; this package compiles without lib.dom). */
declare const document: { getElementById (id: string): { textContent: string | null } | null }


/** Waits until the page's MQTT status leaves "connecting" and returns it. */
async function settledStatus (page: Page): Promise<string> {
  await page.waitForFunction(() => {
    const text = document.getElementById('status')?.textContent ?? ''
    return text !== 'connecting' && text !== 'connected'
  }, null, { timeout: 10_000 })
  return (await page.textContent('#status')) ?? ''
}

describe('auth-session in headless Chromium', function () {
  this.timeout(60_000)
  let browser: Browser | undefined
  let app: HostApp | undefined
  let attacker: http.Server | undefined

  before(async () => {
    browser = await chromium.launch({ executablePath: requireChromium(), args: [...CHROMIUM_ARGS] })
  })
  after(async () => { await browser?.close() })
  afterEach(async () => {
    await app?.stop()
    app = undefined
    attacker?.closeAllConnections()
    await new Promise<void>(resolve => (attacker ? attacker.close(() => resolve()) : resolve()))
    attacker = undefined
  })

  it('logs in with the HTML form, then MQTT over WebSocket needs no password; without the cookie it is refused', async () => {
    app = await startHostApp()
    const context = await browser!.newContext()
    const page = await context.newPage()

    // 1. A real login through the form.
    await page.goto(`${app.origin}/login`)
    await page.fill('#username', 'anna')
    await page.fill('#password', 'anna-pw')
    await Promise.all([page.waitForURL(`${app.origin}/app`), page.click('#submit')])
    assert.equal(await page.textContent('#user'), 'anna')

    // 2. The page connected with no username or password, as anna, and subscribed.
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'subscribed', null, { timeout: 10_000 })
    await eventually(() => app!.broker.clients().some(c => c.username === 'anna' && c.transport === 'ws'), 'the page to be listed as anna')
    const pageClient = app.broker.clients().find(c => c.username === 'anna')!
    assert.equal(app.identities.get(pageClient.id)?.authenticatedBy, 'auth-session')

    // 3. A message published by the app appears in the page.
    await app.broker.publish('news/flash', 'Hello anna, from the broker', { qos: 1 })
    await page.locator('#messages li', { hasText: 'Hello anna, from the broker' }).waitFor({ timeout: 10_000 })
    assert.equal(await page.textContent('#messages li'), 'news/flash: Hello anna, from the broker')
    await page.screenshot({ path: await testArtifactPath('auth-session.png'), fullPage: true })

    // 4. A browser that never logged in loads the same page: its socket is refused (CONNACK 5).
    const stranger = await (await browser!.newContext()).newPage()
    await stranger.goto(`${app.origin}/app`)
    assert.match(await settledStatus(stranger), /^error: .*Not authorized \(code 5\)$/)
    await stranger.screenshot({ path: await testArtifactPath('auth-session-refused.png'), fullPage: true })
    await stranger.context().close()

    // 5. The same browser with its cookies cleared: refused too.
    await context.clearCookies()
    await page.reload()
    assert.match(await settledStatus(page), /^error: .*Not authorized \(code 5\)$/)
    await eventually(() => app!.broker.clients().length === 0, 'no MQTT client left after the reload')
    await context.close()
  })

  it("stops a page on another origin from riding the user's session cookie (Cross-Site WebSocket Hijacking)", async () => {
    app = await startHostApp()
    // The attacker's page: another port on 127.0.0.1 is another origin but the same site, so even a
    // SameSite=Lax cookie goes along with its WebSocket upgrade. Only the Origin check stops it.
    const evil = express()
    servePage(evil, () => 'the attacker')
    attacker = http.createServer(evil)
    await new Promise<void>(resolve => attacker!.listen(0, '127.0.0.1', resolve))
    const evilOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`

    const context = await browser!.newContext()
    const page = await context.newPage()
    await page.goto(`${app.origin}/login`)
    await page.fill('#username', 'anna')
    await page.fill('#password', 'anna-pw')
    await Promise.all([page.waitForURL(`${app.origin}/app`), page.click('#submit')])
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'subscribed', null, { timeout: 10_000 })

    // mountBroker's allowedOrigins: 403 at the upgrade; the page never gets an MQTT session.
    const visit = await context.newPage()
    await visit.goto(`${evilOrigin}/app?broker=${encodeURIComponent(app.wsUrl('/mqtt'))}`)
    // (Browsers do not show a page why a WebSocket handshake failed: mqtt.js only sees the socket close.)
    assert.equal(await settledStatus(visit), 'closed before connecting')

    // A mount without an allowlist: the upgrade succeeds, the browser sends anna's cookie, and the plugin refuses.
    await visit.goto(`${evilOrigin}/app?broker=${encodeURIComponent(app.wsUrl('/mqtt-unguarded'))}`)
    assert.match(await settledStatus(visit), /^error: .*Not authorized \(code 5\)$/)
    const [line] = app.logs.find('warn', 'Cross-Site WebSocket Hijacking')
    assert.ok(line, 'the plugin logged the refusal')
    assert.equal(line.fields.origin, evilOrigin)
    assert.equal(line.fields.hasCookie, true, 'the browser did send the session cookie cross-origin')
    assert.deepEqual(app.broker.clients().map(c => c.username), ['anna'], 'only the app\'s own page is connected')
    await context.close()
  })
})
