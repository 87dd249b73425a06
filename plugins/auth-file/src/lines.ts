import { LineError } from './errors.js'

const decoder = new TextDecoder('utf-8', { fatal: true })

/** One line of a configuration file, numbered from 1, without its line ending. */
export interface NumberedLine {
  number: number
  text: string
}

/**
 * Splits a file into lines, decoding each as strict UTF-8 so a stray byte is
 * reported with its line number instead of silently becoming U+FFFD (which
 * could make a username or topic match something it should not).
 * Accepts LF and CRLF endings and a leading byte order mark.
 */
export function splitLines (bytes: Buffer): NumberedLine[] {
  const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
  const body = hasBom ? bytes.subarray(3) : bytes
  const lines: NumberedLine[] = []
  let start = 0
  let number = 1
  while (start < body.length) {
    const newline = body.indexOf(0x0a, start)
    const end = newline === -1 ? body.length : newline
    let raw = body.subarray(start, end)
    if (raw.at(-1) === 0x0d) raw = raw.subarray(0, raw.length - 1)
    let text: string
    try {
      text = decoder.decode(raw)
    } catch {
      throw new LineError(number, 'is not valid UTF-8')
    }
    if (text.includes('\u0000')) throw new LineError(number, 'contains a NUL character')
    lines.push({ number, text })
    start = end + 1
    number++
  }
  return lines
}
