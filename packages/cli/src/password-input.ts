import type { InputSource, TextSink } from './io.js'

/** The longest password MQTT can carry (binary data with a 16-bit length). */
export const MAX_PASSWORD_BYTES = 65535

/** Why no password could be read; the message is written for the user. */
export class PasswordInputError extends Error {
  constructor (message: string, readonly cancelled = false) {
    super(message)
    this.name = 'PasswordInputError'
  }
}

/**
 * Reads the first line of a pipe as raw bytes (so a password that is not
 * UTF-8 is kept exactly), without its line ending. Stops reading after it.
 */
export function readLine (input: InputSource): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = (outcome: () => void): void => {
      input.off('data', onData)
      input.off('end', onEnd)
      input.off('error', onError)
      input.pause()
      outcome()
    }
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      const newline = bytes.indexOf(0x0a)
      chunks.push(newline === -1 ? bytes : bytes.subarray(0, newline))
      size += newline === -1 ? bytes.length : newline
      if (size > MAX_PASSWORD_BYTES + 1) {
        finish(() => reject(new PasswordInputError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes, the most MQTT can carry`)))
      } else if (newline !== -1) {
        finish(() => resolve(Buffer.concat(chunks)))
      }
    }
    const onEnd = (): void => {
      finish(() => chunks.length === 0 ? reject(new PasswordInputError('no password on stdin (expected one line)')) : resolve(Buffer.concat(chunks)))
    }
    const onError = (err: Error): void => finish(() => reject(new PasswordInputError(`cannot read stdin: ${err.message}`)))
    input.on('data', onData)
    input.on('end', onEnd)
    input.on('error', onError)
    input.resume()
  }).then((line) => {
    const text = line.at(-1) === 0x0d ? line.subarray(0, line.length - 1) : line
    if (text.length > MAX_PASSWORD_BYTES) throw new PasswordInputError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes, the most MQTT can carry`)
    return text
  })
}

/**
 * Prompts on a terminal with echo off (raw mode: nothing typed is shown),
 * handling backspace, Enter, Ctrl-C and Ctrl-D. The terminal is restored
 * whatever happens.
 */
export function promptHidden (input: InputSource, output: TextSink, prompt: string): Promise<string> {
  const setRaw = input.setRawMode
  if (!setRaw) return Promise.reject(new PasswordInputError('stdin is a terminal that cannot turn echo off'))
  // Echo off before the prompt shows, so nothing typed right after it is echoed.
  setRaw.call(input, true)
  output.write(prompt)
  return new Promise((resolve, reject) => {
    let typed = ''
    const finish = (outcome: () => void): void => {
      input.off('data', onData)
      setRaw.call(input, false)
      input.pause()
      output.write('\n')
      outcome()
    }
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') { finish(() => resolve(typed)); return }
        if (char === '\u0003') { finish(() => reject(new PasswordInputError('cancelled', true))); return }
        if (char === '\u0004') {
          if (typed === '') { finish(() => reject(new PasswordInputError('cancelled', true))); return }
          finish(() => resolve(typed))
          return
        }
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('')
        else if (char >= ' ') typed += char
      }
    }
    input.on('data', onData)
    input.resume()
  })
}

/**
 * The password for `embedmq passwd`: from a terminal, asked twice with echo
 * off; from a pipe, its first line. Never from the command line, where other
 * users could see it in `ps` and it would stay in shell history.
 */
export async function readNewPassword (input: InputSource | undefined, prompts: TextSink): Promise<Buffer> {
  if (!input) throw new PasswordInputError('no stdin to read the password from')
  if (input.isTTY !== true) return readLine(input)
  const first = await promptHidden(input, prompts, 'Password: ')
  if (first === '') return Buffer.alloc(0)
  const again = await promptHidden(input, prompts, 'Reenter password: ')
  if (first !== again) throw new PasswordInputError('the passwords do not match')
  const bytes = Buffer.from(first)
  if (bytes.length > MAX_PASSWORD_BYTES) throw new PasswordInputError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes, the most MQTT can carry`)
  return bytes
}
