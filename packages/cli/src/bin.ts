#!/usr/bin/env node
import { runCli } from './cli.js'

const code = await runCli(process.argv.slice(2))
process.exitCode = code
// 128+n: a second signal asked to exit now, whatever is still draining.
if (code >= 128) process.exit(code)
// Otherwise exit naturally so stdout/stderr drain; a handle left open by a plugin must not keep a stopped broker's process alive.
setTimeout(() => process.exit(code), 2000).unref()
