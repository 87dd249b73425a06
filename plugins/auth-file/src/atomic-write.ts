import { randomBytes } from 'node:crypto'
import { open, realpath, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Replaces a file's contents atomically: writes a temporary file in the same
 * directory, flushes it, then renames it over the target, so a reader (the
 * broker's watcher) sees the old file or the new one, never half of one.
 * A new file gets mode `mode`; an existing one keeps its mode (and, when
 * running as root, its owner). A symlink is followed, so the link stays.
 */
export async function writeFileAtomic (file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  let target = file
  let keep: { mode: number, uid: number, gid: number } | undefined
  try {
    target = await realpath(file)
    const st = await stat(target)
    keep = { mode: st.mode & 0o777, uid: st.uid, gid: st.gid }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const dir = dirname(target)
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  try {
    try {
      await handle.writeFile(data)
      // open()'s mode is reduced by the umask; chmod sets exactly what we mean.
      await handle.chmod(keep?.mode ?? mode)
      if (keep && process.getuid?.() === 0) await handle.chown(keep.uid, keep.gid)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, target)
  } catch (err) {
    await unlink(temp).catch(() => undefined)
    throw err
  }
  // Make the rename itself durable; some file systems cannot fsync a directory, which is fine.
  try {
    const dirHandle = await open(dir, 'r')
    try { await dirHandle.sync() } finally { await dirHandle.close() }
  } catch {
    // best effort
  }
}
