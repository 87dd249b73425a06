import { createRequire } from 'node:module'

/**
 * qlobber ships no types: the two classes used here, typed to what we call.
 * Same options as aedes-persistence's in-memory store, so matching agrees.
 */
export interface TrieEntry {
  clientId: string
  topic: string
  qos: number
  rh?: number
  rap?: boolean
  nl?: boolean
}

/** qlobber's aedes trie: subscriptions by filter, one entry per (client, filter). */
export interface SubscriptionTrie {
  add (topic: string, entry: TrieEntry): void
  remove (topic: string, entry: { clientId: string, topic: string }): void
  match (topic: string): TrieEntry[]
  readonly subscriptionsCount: number
}

/** A set of filters that answers "does any match this topic". */
export interface FilterSet {
  add (filter: string): void
  test (topic: string): boolean
}

const require = createRequire(import.meta.url)
const OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' }
const QlobberSub = require('qlobber/aedes/qlobber-sub') as new (options: object) => SubscriptionTrie
const { QlobberTrue } = require('qlobber') as { QlobberTrue: new (options: object) => FilterSet }

export function createSubscriptionTrie (): SubscriptionTrie {
  return new QlobberSub(OPTIONS)
}

export function createFilterSet (filter: string): FilterSet {
  const set = new QlobberTrue(OPTIONS)
  set.add(filter)
  return set
}
