import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Temporary directories for one test file: `make()` them, `remove()` them all in its after hook. */
export interface TempDirs {
  make (): Promise<string>
  remove (): Promise<void>
}

export function tempDirs (prefix = 'embedmq-test-'): TempDirs {
  const dirs: string[] = []
  return {
    async make () {
      const dir = await mkdtemp(join(tmpdir(), prefix))
      dirs.push(dir)
      return dir
    },
    async remove () {
      await Promise.all(dirs.splice(0).map(d => rm(d, { recursive: true, force: true })))
    }
  }
}
