/** Something with a size, for the byte bound. */
export interface Sized { readonly size: number }

/** Why events were dropped from a full queue. */
export type DropReason = 'maxQueue' | 'maxQueueBytes'

/** What `push` did: how many events (the pushed one or older ones) were dropped, and why. */
export interface PushResult { dropped: number, reason?: DropReason }

/**
 * A FIFO bounded by count and by bytes, O(1) at both ends (a head index over
 * an array, compacted now and then, instead of Array.shift over thousands).
 * When full, `drop-oldest` makes room by dropping from the head; `drop-newest`
 * refuses the arriving item.
 */
export class BoundedQueue<T extends Sized> {
  #items: Array<T | undefined> = []
  #head = 0
  #bytes = 0

  constructor (
    private readonly maxItems: number,
    private readonly maxBytes: number,
    private readonly overflow: 'drop-oldest' | 'drop-newest'
  ) {}

  get length (): number { return this.#items.length - this.#head }
  get bytes (): number { return this.#bytes }

  push (item: T): PushResult {
    const reason = this.#overBy(item)
    if (reason === undefined) {
      this.#append(item)
      return { dropped: 0 }
    }
    if (this.overflow === 'drop-newest' || item.size > this.maxBytes) return { dropped: 1, reason }
    let dropped = 0
    while (this.#overBy(item) !== undefined && this.length > 0) {
      this.shift()
      dropped++
    }
    this.#append(item)
    return { dropped, reason }
  }

  /** Takes up to `n` items from the head. */
  take (n: number): T[] {
    const out: T[] = []
    while (out.length < n && this.length > 0) out.push(this.shift()!)
    return out
  }

  /** Takes up to `n` items from the head, stopping before `maxBytes` would be passed (always at least one). */
  takeBatch (n: number, maxBytes: number): T[] {
    const out: T[] = []
    let bytes = 0
    while (out.length < n && this.length > 0) {
      const size = this.peek()!.size
      if (out.length > 0 && bytes + size > maxBytes) break
      bytes += size
      out.push(this.shift()!)
    }
    return out
  }

  /** The head item, left in place. */
  peek (): T | undefined {
    return this.length > 0 ? this.#items[this.#head] : undefined
  }

  shift (): T | undefined {
    if (this.length === 0) return undefined
    const item = this.#items[this.#head]!
    this.#items[this.#head++] = undefined
    this.#bytes -= item.size
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  #append (item: T): void {
    this.#items.push(item)
    this.#bytes += item.size
  }

  #overBy (item: T): DropReason | undefined {
    if (this.length + 1 > this.maxItems) return 'maxQueue'
    if (this.#bytes + item.size > this.maxBytes) return 'maxQueueBytes'
    return undefined
  }
}
