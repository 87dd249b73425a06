import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, extname, isAbsolute, join, resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { EmbedmqError } from '../errors.js'
import { brokerConfigSchema, type BrokerConfig, type BrokerConfigInput } from './schema.js'

/** Turns zod issues into "field.path: reason" lines a person can act on. */
export function describeIssues (issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map(issue => {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)'
    return `${field}: ${issue.message}`
  })
}

/** Validates a config object, throwing EMBEDMQ_CONFIG_INVALID that names each bad field. */
export function parseConfig (input: unknown, source = 'configuration'): BrokerConfig {
  const parsed = brokerConfigSchema.safeParse(input ?? {})
  if (parsed.success) return parsed.data
  const problems = describeIssues(parsed.error.issues)
  throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID',
    `invalid ${source}: ${problems.join('; ')}`, { source, problems })
}

/** Reads a YAML or JSON file into a plain object (not yet validated). */
export async function readConfigFile (path: string): Promise<BrokerConfigInput> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new EmbedmqError('EMBEDMQ_CONFIG_UNREADABLE', `cannot read config file ${path}: ${(err as Error).message}`, { path }, { cause: err })
  }
  try {
    const data: unknown = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text)
    if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data))) {
      throw new Error('the top level must be a mapping of settings')
    }
    return (data ?? {}) as BrokerConfigInput
  } catch (err) {
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID', `config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { path }, { cause: err })
  }
}

const ENV_PREFIX = 'EMBEDMQ_'

function camel (snake: string): string {
  return snake.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
}

function parseEnvValue (raw: string): unknown {
  try { return JSON.parse(raw) } catch { return raw }
}

/**
 * Environment overrides: `EMBEDMQ_<PATH>` with `__` between levels, e.g.
 * `EMBEDMQ_LIMITS__MAX_PACKET_SIZE=65536`, `EMBEDMQ_ALLOW_ANONYMOUS=true`,
 * `EMBEDMQ_LISTENERS='[{"type":"tcp","port":1883}]'`. Values are JSON when
 * they parse as JSON, strings otherwise.
 */
export function envOverrides (env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const settings = Object.keys(brokerConfigSchema.shape)
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || raw === undefined) continue
    const path = key.slice(ENV_PREFIX.length).split('__').map(camel)
    if (!settings.includes(path[0]!)) {
      throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID',
        `environment variable ${key} does not name a setting (known: ${settings.map(k => ENV_PREFIX + k.replace(/[A-Z]/g, c => `_${c}`).toUpperCase()).join(', ')}); unset it or fix its name`,
        { variable: key })
    }
    let node = out
    for (const part of path.slice(0, -1)) {
      const child = node[part]
      node = (typeof child === 'object' && child !== null ? child : (node[part] = {})) as Record<string, unknown>
    }
    node[path[path.length - 1]!] = parseEnvValue(raw)
  }
  return out
}

/** Deep-merges plain objects; arrays and scalars from `over` replace those in `base`. */
export function mergeConfig (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key]
    const bothObjects = typeof prev === 'object' && prev !== null && !Array.isArray(prev) &&
      typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)
    out[key] = bothObjects ? mergeConfig(prev as Record<string, unknown>, value as Record<string, unknown>) : value
  }
  return out
}

/**
 * File, then environment, then explicit overrides (e.g. CLI flags), validated
 * once. Errors name the source and the field.
 */
export async function loadConfig (options: { file?: string, env?: NodeJS.ProcessEnv, overrides?: Record<string, unknown> } = {}): Promise<BrokerConfig> {
  const fromFile = options.file ? await readConfigFile(options.file) : {}
  const fromEnv = envOverrides(options.env)
  const merged = mergeConfig(mergeConfig(fromFile as Record<string, unknown>, fromEnv), options.overrides ?? {})
  const source = options.file
    ? `config file ${options.file}${Object.keys(fromEnv).length > 0 ? ' (with EMBEDMQ_* environment overrides)' : ''}`
    : 'configuration'
  const config = parseConfig(merged, source)
  if (!options.file) return config
  const folder = dirname(resolvePath(options.file))
  return { ...config, baseDir: config.baseDir === undefined ? folder : resolvePath(folder, config.baseDir), plugins: config.plugins.map(p => anchorPluginModule(p, folder)) }
}

/**
 * Plugin modules named in a file resolve from the file's folder: a relative
 * path (`./auth.js`) against it, a package name from its node_modules, so a
 * config works whatever directory the broker starts in.
 */
function anchorPluginModule (entry: BrokerConfig['plugins'][number], baseDir: string): BrokerConfig['plugins'][number] {
  if (!('module' in entry)) return entry
  return { ...entry, module: resolvePluginModule(entry.module, baseDir) }
}

/** Resolves a plugin module specifier from `baseDir`; leaves it as it is when it cannot be resolved there. */
export function resolvePluginModule (specifier: string, baseDir: string): string {
  if (specifier.startsWith('file:') || specifier.startsWith('node:')) return specifier
  if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolvePath(baseDir, specifier)).href
  try {
    return pathToFileURL(createRequire(join(baseDir, 'noop.js')).resolve(specifier)).href
  } catch {
    return specifier
  }
}

/**
 * A port from an environment variable (PORT, MQTT_PORT…), as apps that embed
 * the broker read them: `fallback` when unset or empty; EMBEDMQ_CONFIG_INVALID
 * naming the variable when it is not a whole number from 0 to 65535.
 */
export function portFromEnv (name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID', `${name}=${raw} is not a port number (0-65535)`, { variable: name })
  }
  return port
}
