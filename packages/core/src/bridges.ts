/** Where a bridge's connection to its remote broker stands. */
export type BridgeConnectionState = 'connecting' | 'connected' | 'disconnected' | 'stopped'

/** A bridge as `broker.bridges()` and the `bridgeState` event report it. */
export interface BridgeStatus {
  /** Unique per broker; also names the state topic `$SYS/bridges/<name>/state`. */
  name: string
  /** The remote broker's URL, without credentials. */
  remote: string
  state: BridgeConnectionState
  /** Why it is disconnected (the last error), when it is. */
  reason?: string
  /** When `state` last changed. */
  since: Date
  /** Messages forwarded to the remote and received from it. */
  forwarded: { out: number, in: number }
  /** QoS 0 messages dropped while the remote was unreachable. */
  dropped: number
}

/**
 * What a bridge plugin (e.g. @embedmq/bridge-mqtt) provides with
 * `ctx.provideBridges(...)`: the machinery behind `broker.bridge()`,
 * `broker.unbridge()` and `broker.bridges()`.
 */
export interface BridgeProvider {
  /** Adds and starts a bridge; the spec is the plugin's own bridge options (validated by it). */
  add (spec: unknown): Promise<BridgeStatus>
  /** Stops and removes a bridge; false when there is none by that name. */
  remove (name: string): Promise<boolean>
  list (): BridgeStatus[]
  /** Core listens here to re-emit state changes as the broker's `bridgeState` event. */
  onStateChange (listener: (status: BridgeStatus) => void): void
}
