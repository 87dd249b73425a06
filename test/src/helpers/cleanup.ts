/**
 * Everything a test opens (brokers, clients, sockets, child processes)
 * registers its disposal here; each test file runs `afterEach(releaseAll)`.
 * Disposals run in reverse order of registration (clients before the broker
 * they talk to), each bounded, and a failing one does not skip the others.
 */

type Disposal = { what: string, dispose: () => unknown }

const pending: Disposal[] = []
const onFailure: Array<() => string> = []

/** Registers `dispose` to run after the current test. */
export function defer (what: string, dispose: () => unknown): void {
  pending.push({ what, dispose })
}

/** Registers a report (e.g. a broker's log) printed only when the current test failed. */
export function reportOnFailure (report: () => string): void {
  onFailure.push(report)
}

const DISPOSE_MS = 5_000

/** Disposes of everything registered since the last call. Use as `afterEach(releaseAll)`. */
export async function releaseAll (this: Mocha.Context | void): Promise<void> {
  const failed = this?.currentTest?.state === 'failed'
  const reports = onFailure.splice(0)
  if (failed) {
    for (const report of reports) {
      const text = report()
      if (text) console.log(text)
    }
  }
  const problems: string[] = []
  for (const { what, dispose } of pending.splice(0).reverse()) {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        Promise.resolve().then(dispose),
        new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`did not finish within ${DISPOSE_MS} ms`)), DISPOSE_MS) })
      ])
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
  }
  if (problems.length > 0) throw new Error(`cleanup failed:\n  ${problems.join('\n  ')}`)
}
