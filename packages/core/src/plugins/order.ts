import { EmbedmqError } from '../errors.js'

interface Node { readonly name: string, readonly dependsOn?: readonly string[] }

/**
 * Orders plugins so that each comes after what it depends on, keeping the
 * registration order wherever the graph allows (a stable topological sort).
 * Throws a coded EmbedmqError for a duplicate name, a missing dependency or a cycle.
 */
export function orderByDependencies<T extends Node> (nodes: readonly T[]): T[] {
  const byName = new Map<string, T>()
  for (const node of nodes) {
    if (byName.has(node.name)) {
      throw new EmbedmqError('EMBEDMQ_PLUGIN_DUPLICATE_NAME',
        `two plugins are named "${node.name}"; plugin names must be unique within a broker`, { plugin: node.name })
    }
    byName.set(node.name, node)
  }
  for (const node of nodes) {
    for (const dep of node.dependsOn ?? []) {
      if (!byName.has(dep)) {
        throw new EmbedmqError('EMBEDMQ_PLUGIN_MISSING_DEPENDENCY',
          `plugin "${node.name}" depends on "${dep}", which is not registered; add it to the broker's plugins`,
          { plugin: node.name, dependency: dep })
      }
    }
  }

  const ordered: T[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (node: T, path: string[]): void => {
    const seen = state.get(node.name)
    if (seen === 'done') return
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(node.name)), node.name]
      throw new EmbedmqError('EMBEDMQ_PLUGIN_DEPENDENCY_CYCLE',
        `plugin dependencies form a cycle: ${cycle.join(' -> ')}`, { cycle })
    }
    state.set(node.name, 'visiting')
    for (const dep of node.dependsOn ?? []) visit(byName.get(dep)!, [...path, node.name])
    state.set(node.name, 'done')
    ordered.push(node)
  }
  for (const node of nodes) visit(node, [])
  return ordered
}
