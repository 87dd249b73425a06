import {
  EmbedmqError, envOverrides, loadConfig, mergeConfig, parseConfig,
  type BrokerConfig, type ListenerConfig
} from '@embedmq/core'
import type { StartOptions } from '../args.js'

/**
 * Turns `embedmq start` flags, EMBEDMQ_* variables and an optional config file
 * into one validated BrokerConfig. Layers, lowest first:
 *   built-in defaults (no file only) → config file → environment → flags.
 * Flags are applied after validation, to typed listeners: they patch list
 * entries (a port, a host), which a plain deep merge cannot express.
 */

/** Where listeners the CLI creates bind: loopback, as Mosquitto 2 does when not told otherwise. */
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_TCP_PORT = 1883
export const DEFAULT_WS_PORT = 8083
export const DEFAULT_WS_PATH = '/mqtt'

/** Without a file, the broker is for local use: anonymous clients welcome, loopback only. */
const NO_FILE_DEFAULTS: Record<string, unknown> = { allowAnonymous: true }

export interface ResolvedStartConfig {
  config: BrokerConfig
  /** The config file used, if any. */
  file?: string
}

/** Reads and validates everything; throws EmbedmqError (EMBEDMQ_CONFIG_*) naming the file and the field. */
export async function resolveStartConfig (options: StartOptions, env: NodeJS.ProcessEnv): Promise<ResolvedStartConfig> {
  const base = options.config === undefined
    ? parseConfig(mergeConfig(NO_FILE_DEFAULTS, envOverrides(env)), 'configuration (built-in defaults with environment overrides)')
    : await loadConfig({ file: options.config, env })
  const listeners = applyListenerFlags(base.listeners.length > 0 ? base.listeners : defaultListeners(), options)
  return {
    config: { ...base, listeners },
    ...(options.config === undefined ? {} : { file: options.config })
  }
}

export function defaultListeners (): ListenerConfig[] {
  return [
    { type: 'tcp', host: DEFAULT_HOST, port: DEFAULT_TCP_PORT, noDelay: false },
    { type: 'ws', host: DEFAULT_HOST, port: DEFAULT_WS_PORT, path: DEFAULT_WS_PATH }
  ]
}

/**
 * --port/--ws-port set the port of the (single) tcp/ws listener, adding one on
 * the default host when there is none; two of a kind make the flag ambiguous,
 * which is an error rather than a guess. --host sets every listener's address.
 */
export function applyListenerFlags (listeners: readonly ListenerConfig[], options: StartOptions): ListenerConfig[] {
  let out = [...listeners]
  if (options.port !== undefined) out = setPort(out, 'tcp', 'port', options.port)
  if (options.wsPort !== undefined) out = setPort(out, 'ws', 'ws-port', options.wsPort)
  const host = options.host
  if (host !== undefined) out = out.map(l => ({ ...l, host }))
  return out
}

function setPort (listeners: ListenerConfig[], type: 'tcp' | 'ws', flag: string, port: number): ListenerConfig[] {
  const matching = listeners.filter(l => l.type === type)
  if (matching.length > 1) {
    const names = matching.map(l => l.name ?? `${l.type}:${l.port}`).join(', ')
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID',
      `--${flag} is ambiguous: the configuration has ${matching.length} ${type} listeners (${names}); set their ports in the config file instead`,
      { flag, listeners: names })
  }
  if (matching.length === 0) {
    const added: ListenerConfig = type === 'tcp'
      ? { type: 'tcp', host: DEFAULT_HOST, port, noDelay: false }
      : { type: 'ws', host: DEFAULT_HOST, port, path: DEFAULT_WS_PATH }
    return [...listeners, added]
  }
  return listeners.map(l => l.type === type ? { ...l, port } : l)
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/i

export function isLoopback (host: string | undefined): boolean {
  return host !== undefined && LOOPBACK.test(host)
}

function where (l: ListenerConfig): string {
  return `${l.type} ${l.host === undefined ? '*' : l.host}:${l.port}`
}

/**
 * Warnings worth a line at startup: how the no-file defaults behave (so no one
 * is surprised that a remote client cannot connect), and anonymous access on
 * an address other machines can reach.
 */
export function securityNotices ({ config, file }: ResolvedStartConfig): string[] {
  const notices: string[] = []
  const exposed = config.listeners.filter(l => !isLoopback(l.host))
  if (file === undefined) {
    const reach = exposed.length === 0
      ? `listening on localhost only (${[...new Set(config.listeners.map(l => l.host))].join(', ')})`
      : `listening on ${config.listeners.map(where).join(', ')}`
    notices.push(`no config file: ${config.allowAnonymous ? 'anonymous clients are allowed' : 'anonymous clients are refused'}, ${reach}, ` +
      'as Mosquitto 2 does without a config. Use --config <file> to choose listeners and add authentication.')
  }
  if (config.allowAnonymous && exposed.length > 0) {
    notices.push(`anonymous clients are allowed on listeners other machines may reach (${exposed.map(where).join(', ')}): ` +
      'anyone who can connect can publish and subscribe. Set allowAnonymous: false and add an authentication plugin, or bind to 127.0.0.1.')
  }
  return notices
}
