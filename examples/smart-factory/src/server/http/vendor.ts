/**
 * The browser libraries the dashboard loads, served straight from
 * node_modules (no bundler, no copy to keep in sync).
 */
import { createRequire } from 'node:module'
import { Router } from 'express'

const require = createRequire(import.meta.url)

/** URL path → module specifier. mqtt's exports map `./dist/*` to `./dist/*.js`. */
const FILES: Readonly<Record<string, string>> = {
  '/vendor/mqtt.min.js': 'mqtt/dist/mqtt.min',
  '/vendor/uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  '/vendor/uPlot.min.css': 'uplot/dist/uPlot.min.css'
}

export function vendorRoutes (): Router {
  const router = Router()
  for (const [url, specifier] of Object.entries(FILES)) {
    // Resolved at start-up: a missing dependency fails loudly now, not as a 404 in the browser later.
    const file = require.resolve(specifier)
    router.get(url, (_req, res) => { res.sendFile(file, { maxAge: '1h' }) })
  }
  return router
}

