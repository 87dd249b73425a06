import { readFileSync } from 'node:fs'

/**
 * The package version, read from package.json at run time: dist/src/version.js
 * sits two levels below it both in the repo and in the published tarball.
 */
export function cliVersion (): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  const pkg = JSON.parse(text) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : 'unknown'
}
