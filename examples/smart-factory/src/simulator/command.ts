import { z } from 'zod'
import { COMMAND_ACTIONS, parseJson, type Command } from '../shared/topics.js'

const commandSchema = z.object({
  id: z.string().min(1).max(200),
  action: z.enum(COMMAND_ACTIONS as [Command['action'], ...Command['action'][]]),
  value: z.number().finite().optional(),
  by: z.string().max(200).optional(),
  /** Optional on the wire, so a hand-typed mosquitto_pub command works; filled with the receive time. */
  ts: z.number().finite().optional()
})

/** A command payload, parsed: the command, or why it is not one (with its id when one could be read, to ack the refusal). */
export type ParsedCommand =
  | { ok: true, command: Command }
  | { ok: false, id: string | undefined, error: string }

/** Parses and validates a `cmd` payload. Never throws. */
export function parseCommand (payload: Buffer | Uint8Array | string, now: number): ParsedCommand {
  const json = parseJson<Record<string, unknown>>(payload)
  if (json === undefined || Array.isArray(json)) return { ok: false, id: undefined, error: 'payload is not a JSON object' }
  const id = typeof json.id === 'string' && json.id.length > 0 && json.id.length <= 200 ? json.id : undefined
  const result = commandSchema.safeParse(json)
  if (result.success) {
    const { ts, value, by, ...rest } = result.data
    return { ok: true, command: { ...rest, ts: ts ?? now, ...(value === undefined ? {} : { value }), ...(by === undefined ? {} : { by }) } }
  }
  const error = result.error.issues
    .map(issue => `${issue.path.join('.') || 'command'}: ${issue.message}`)
    .join('; ')
  return { ok: false, id, error: `invalid command: ${error} (expected { id, action: ${COMMAND_ACTIONS.join('|')}, value?, by?, ts? })` }
}
