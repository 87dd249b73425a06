import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Debian's Chromium (package `chromium`): browser tests drive it with playwright-core; playwright's own browser downloads are never used. */
export const CHROMIUM_EXECUTABLE = '/usr/bin/chromium'

/** Headless, no sandbox (tests run as root in CI), no background traffic, and no host name but loopback resolves. */
export const CHROMIUM_ARGS: readonly string[] = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']

/** The Chromium executable, or an error saying how to install it. */
export function requireChromium (): string {
  if (!existsSync(CHROMIUM_EXECUTABLE)) {
    throw new Error(`${CHROMIUM_EXECUTABLE} not found: the browser tests drive Debian's Chromium. Install it with \`apt-get install chromium\` (npm test does, through scripts/test-env.sh); playwright's own browser downloads are not used.`)
  }
  return CHROMIUM_EXECUTABLE
}

/** The monorepo root: the nearest package.json with workspaces above this module. */
async function repoRoot (): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = path.join(dir, 'package.json')
    if (existsSync(pkg) && 'workspaces' in (JSON.parse(await readFile(pkg, 'utf8')) as object)) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error('cannot find the repository root (a package.json with workspaces) above @embedmq/testing')
    dir = up
  }
}

/** Where a test writes an artifact (a screenshot): `test-artifacts/<fileName>` at the repository root, folder created. */
export async function testArtifactPath (fileName: string): Promise<string> {
  const folder = path.join(await repoRoot(), 'test-artifacts')
  await mkdir(folder, { recursive: true })
  return path.join(folder, fileName)
}
