import type { Logger } from '../logger.js'
import { isThenable } from '../maybe-promise.js'
import { toError } from '../errors.js'
import type { ClientContext, Message } from '../types.js'
import type { Deny, InterceptResult, LinkOptions, MaybePromise, PublishInterceptor } from './extensions.js'

/** One contribution to a chain, with the plugin that made it. */
export interface ChainLink<H> {
  readonly plugin: string
  readonly handler: H
  readonly priority: number
  readonly timeoutMs: number
}

/**
 * An ordered list of links: higher priority first, ties in registration order.
 * Kept sorted on insert, because chains are read on every packet and written
 * only while plugins register.
 */
export class Chain<H> {
  #links: ChainLink<H>[] = []

  constructor (private readonly defaultTimeoutMs: number) {}

  add (plugin: string, handler: H, options: LinkOptions = {}): void {
    const link: ChainLink<H> = {
      plugin,
      handler,
      priority: options.priority ?? 0,
      timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs
    }
    let at = this.#links.length
    while (at > 0 && this.#links[at - 1]!.priority < link.priority) at--
    this.#links.splice(at, 0, link)
  }

  get links (): readonly ChainLink<H>[] { return this.#links }
  get size (): number { return this.#links.length }
}

export interface Decided<R> {
  /** The first non-'next' answer, or undefined when every link said next. */
  result: R | undefined
  /** The plugin that gave it. */
  plugin?: string
}

type Outcome = { outcome: string }

class LinkTimeout extends Error {}

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new LinkTimeout(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Runs links in order until one answers something other than 'next'.
 * A link that throws, rejects or exceeds its timeout counts as a deny
 * (fail closed) and is logged with the plugin's name; the chain never throws.
 *
 * Links that answer synchronously are run synchronously, so a chain of cheap
 * checks costs no promise allocation on the hot publish path.
 */
export function runChain<H, R extends Outcome> (
  links: readonly ChainLink<H>[],
  invoke: (handler: H) => MaybePromise<R>,
  log: Logger,
  what: string
): MaybePromise<Decided<R | Deny>> {
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!
    let answer: MaybePromise<R>
    try {
      answer = invoke(link.handler)
    } catch (err) {
      return failed(link, err, log, what)
    }
    if (isThenable(answer)) return finishAsync(links, i, answer, invoke, log, what)
    if (answer.outcome !== 'next') return { result: answer, plugin: link.plugin }
  }
  return { result: undefined }
}

async function finishAsync<H, R extends Outcome> (
  links: readonly ChainLink<H>[],
  from: number,
  pending: Promise<R>,
  invoke: (handler: H) => MaybePromise<R>,
  log: Logger,
  what: string
): Promise<Decided<R | Deny>> {
  for (let i = from; i < links.length; i++) {
    const link = links[i]!
    let answer: R
    try {
      const raw = i === from ? pending : invoke(link.handler)
      answer = isThenable(raw) ? await withTimeout(raw, link.timeoutMs) : raw
    } catch (err) {
      return failed(link, err, log, what)
    }
    if (answer.outcome !== 'next') return { result: answer, plugin: link.plugin }
  }
  return { result: undefined }
}

function failed<H> (link: ChainLink<H>, thrown: unknown, log: Logger, what: string): Decided<Deny> {
  const err = toError(thrown)
  const timedOut = err instanceof LinkTimeout
  log.error(
    { plugin: link.plugin, hook: what, err, timeoutMs: timedOut ? link.timeoutMs : undefined },
    timedOut
      ? `plugin "${link.plugin}" did not answer ${what} within ${link.timeoutMs} ms; denying (fail closed). Check the plugin's backend or raise its timeoutMs.`
      : `plugin "${link.plugin}" threw during ${what}: ${err.message}; denying (fail closed)`
  )
  return { result: { outcome: 'deny', reason: timedOut ? 'plugin timeout' : 'plugin error' }, plugin: link.plugin }
}

export type Intercepted = { message: Message } | { dropped: string, plugin: string }

/**
 * Runs every interceptor in order, each seeing the previous one's rewrite.
 * Returns the final message, or a drop with the reason and plugin. A link
 * that throws or times out drops the message (fail closed) and is logged.
 */
export function runInterceptors (
  links: readonly ChainLink<PublishInterceptor>[], message: Message, client: ClientContext | null, log: Logger
): MaybePromise<Intercepted> {
  let current = message
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!
    let answer: MaybePromise<InterceptResult>
    try {
      answer = link.handler.intercept(current, client)
    } catch (err) {
      return { dropped: failed(link, err, log, 'intercept').result!.reason!, plugin: link.plugin }
    }
    if (isThenable(answer)) return interceptAsync(links, i, answer, current, client, log)
    if (answer.outcome === 'drop') return { dropped: answer.reason ?? 'dropped by interceptor', plugin: link.plugin }
    if (answer.message) current = { ...current, ...answer.message }
  }
  return { message: current }
}

async function interceptAsync (
  links: readonly ChainLink<PublishInterceptor>[], from: number, pending: Promise<InterceptResult>,
  message: Message, client: ClientContext | null, log: Logger
): Promise<Intercepted> {
  let current = message
  for (let i = from; i < links.length; i++) {
    const link = links[i]!
    let answer: InterceptResult
    try {
      const raw = i === from ? pending : link.handler.intercept(current, client)
      answer = isThenable(raw) ? await withTimeout(raw, link.timeoutMs) : raw
    } catch (err) {
      return { dropped: failed(link, err, log, 'intercept').result!.reason!, plugin: link.plugin }
    }
    if (answer.outcome === 'drop') return { dropped: answer.reason ?? 'dropped by interceptor', plugin: link.plugin }
    if (answer.message) current = { ...current, ...answer.message }
  }
  return { message: current }
}
