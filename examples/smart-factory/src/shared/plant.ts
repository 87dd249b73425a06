import { createHmac } from 'node:crypto'
import type { MachineKind } from './topics.js'

/** One machine of the plant, as the simulator runs it and the server expects it. */
export interface MachineSpec {
  /** Unique in the plant; also its MQTT username and client id. */
  id: string
  line: string
  kind: MachineKind
  name: string
  idealPartsPerMinute: number
}

export interface PlantSpec {
  site: string
  lines: string[]
  machines: MachineSpec[]
}

const LINE_LAYOUT: ReadonlyArray<{ kind: MachineKind, label: string, idealPartsPerMinute: number }> = [
  { kind: 'conveyor', label: 'Infeed conveyor', idealPartsPerMinute: 60 },
  { kind: 'cnc-mill', label: 'CNC mill A', idealPartsPerMinute: 12 },
  { kind: 'cnc-mill', label: 'CNC mill B', idealPartsPerMinute: 12 },
  { kind: 'press', label: 'Press', idealPartsPerMinute: 30 },
  { kind: 'packaging-robot', label: 'Packaging robot', idealPartsPerMinute: 24 },
  { kind: 'conveyor', label: 'Outfeed conveyor', idealPartsPerMinute: 60 }
]

const ID_PREFIX: Record<MachineKind, string> = { 'cnc-mill': 'cnc', press: 'press', conveyor: 'conv', 'packaging-robot': 'robot' }

/** The default plant: one site, `lines` lines of six machines each (12 by default). */
export function defaultPlant (options: { site?: string, lines?: number } = {}): PlantSpec {
  const site = options.site ?? 'berlin'
  const lineCount = options.lines ?? 2
  const lines = Array.from({ length: lineCount }, (_, i) => `line${i + 1}`)
  const machines: MachineSpec[] = []
  lines.forEach((line, li) => {
    LINE_LAYOUT.forEach((slot, mi) => {
      const n = String(li * LINE_LAYOUT.length + mi + 1).padStart(2, '0')
      machines.push({ id: `${ID_PREFIX[slot.kind]}-${n}`, line, kind: slot.kind, name: `${slot.label} (L${li + 1})`, idealPartsPerMinute: slot.idealPartsPerMinute })
    })
  })
  return { site, lines, machines }
}

/** The secret both sides derive machine passwords from, unless MACHINE_SECRET is set. */
export const DEMO_MACHINE_SECRET = 'embedmq-smart-factory-demo'

/**
 * A machine's MQTT password: derived from a shared secret so the simulator and
 * the server agree without a plaintext password list. Set MACHINE_SECRET in
 * both processes for anything beyond a demo.
 */
export function machinePassword (machineId: string, secret: string = process.env.MACHINE_SECRET ?? DEMO_MACHINE_SECRET): string {
  return createHmac('sha256', secret).update(machineId).digest('base64url').slice(0, 24)
}
