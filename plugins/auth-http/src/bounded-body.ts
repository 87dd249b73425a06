/** A body read within a byte limit, or why it was not. */
export type BodyText = { ok: true, text: string } | { ok: false, reason: string }

/** Releases a response body we will not read, so its connection is freed. */
export async function discardBody (response: Response): Promise<void> {
  try {
    await response.body?.cancel()
  } catch {
    // The stream may already be closed or errored; nothing to release then.
  }
}

/**
 * Reads a response body as UTF-8 text, stopping at `maxBytes`: a declared
 * Content-Length above it is refused before reading, and a body that grows
 * past it is cancelled mid-stream (which closes that connection), so a
 * misbehaving service cannot make the broker buffer megabytes per login.
 */
export async function readBounded (response: Response, maxBytes: number): Promise<BodyText> {
  const declared = response.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) {
    await discardBody(response)
    return { ok: false, reason: `the response declares ${declared} bytes, more than maxResponseBytes (${maxBytes}); not read` }
  }
  if (response.body === null) return { ok: true, text: '' }
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined)
      return { ok: false, reason: `the response body exceeds maxResponseBytes (${maxBytes}); stopped reading it` }
    }
    chunks.push(value)
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) }
  } catch {
    return { ok: false, reason: 'the response body is not valid UTF-8' }
  }
}
