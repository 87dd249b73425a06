import { EmbedmqError } from '../errors.js'
import type { Plugin } from '../plugins/plugin.js'
import { resolvePluginModule } from './load.js'
import type { PluginSpec } from './schema.js'

type PluginFactory = (options?: Record<string, unknown>) => Plugin

/**
 * Imports a plugin named in a config file. The module's default export (or
 * its `plugin` export) is a factory called with the entry's options.
 * Relative paths and package names resolve from `baseDir` (the working
 * directory, unless loadConfig already anchored them to the config file's folder).
 */
export async function loadPluginSpec (spec: PluginSpec, baseDir = process.cwd()): Promise<Plugin> {
  const specifier = resolvePluginModule(spec.module, baseDir)
  let mod: { default?: unknown, plugin?: unknown }
  try {
    mod = await import(specifier) as typeof mod
  } catch (err) {
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID', `cannot load plugin module "${spec.module}": ${(err as Error).message}; is it installed?`,
      { module: spec.module }, { cause: err })
  }
  const factory = (typeof mod.default === 'function' ? mod.default : mod.plugin) as PluginFactory | undefined
  if (typeof factory !== 'function') {
    throw new EmbedmqError('EMBEDMQ_CONFIG_INVALID', `plugin module "${spec.module}" has no default export (or "plugin" export) that creates a plugin`, { module: spec.module })
  }
  return factory(spec.options)
}
