import assert from 'node:assert/strict'
import type mqtt from 'mqtt'
import type { BrokerOptions, ConnectInput, Plugin } from '@embedmq/core'
import { startTestBroker, TEST_TRANSPORTS, type TestBroker, type TestTransport } from '../broker.js'
import { connackCode } from '../clients.js'
import { capturePlugin } from './capture.js'

/** How a test client presents itself. */
export interface Credentials {
  /** Names the case in test titles (default: describes the username and password). */
  label?: string
  username?: string
  password?: string | Buffer
  clientId?: string
  /** Extra mqtt.js options (TLS keys, WebSocket headers, …). */
  options?: mqtt.IClientOptions
}

export interface AuthenticatorContract {
  /** Builds the plugin under test; called afresh for every test. */
  plugin: () => Plugin | Promise<Plugin>
  /** Credentials that must be let in (CONNACK 0). */
  accepts: Credentials[]
  /** Credentials that must be refused, with the CONNACK code expected (4 or 5; either when left out). */
  rejects: Array<Credentials & { returnCode?: 2 | 3 | 4 | 5 }>
  /** Credentials the plugin must pass on (answer next): refused without allowAnonymous, let in with it. */
  defers?: Credentials[]
  /** Transports to run on; both by default. */
  transports?: readonly TestTransport[]
  /** More broker options (listeners, limits…). */
  broker?: BrokerOptions
}

function clientOptions (c: Credentials): mqtt.IClientOptions {
  return {
    ...(c.username === undefined ? {} : { username: c.username }),
    ...(c.password === undefined ? {} : { password: typeof c.password === 'string' ? c.password : c.password }),
    ...(c.clientId === undefined ? {} : { clientId: c.clientId }),
    ...c.options
  }
}

const describeCredentials = (c: Credentials): string => c.label ??
  `${c.username === undefined ? 'no username' : `username ${JSON.stringify(c.username)}`}${c.password === undefined ? '' : ' with a password'}`

/** Inputs no authenticator may crash or hang on. */
function hostileInputs (): Array<[string, ConnectInput]> {
  const base: ConnectInput = { clientId: 'hostile', connectionId: 'contract-connection', protocolVersion: 4, clean: true, keepalive: 30, transport: 'tcp', listener: 'contract' }
  return [
    ['no username and no password', base],
    ['an empty username and password', { ...base, username: '', password: Buffer.alloc(0) }],
    ['a 64 KiB password', { ...base, username: 'u', password: Buffer.alloc(65535, 0x41) }],
    ['a password that is not UTF-8', { ...base, username: 'u', password: Buffer.from([0xff, 0xfe, 0x00, 0x80]) }],
    ['a username with replacement characters and RTL marks', { ...base, username: '\uFFFD\u202Eadmin', password: Buffer.from('x') }],
    ['a 64 KiB username', { ...base, username: 'u'.repeat(65535), password: Buffer.from('x') }],
    ['a JWT-looking garbage password', { ...base, username: 'u', password: Buffer.from('eyJhbGciOiJub25lIn0.e30.') }]
  ]
}

/**
 * The contract every authenticator plugin should pass, run with real MQTT
 * clients (mqtt.js) over TCP and WebSocket against a real broker:
 * - the credentials it should accept get CONNACK 0, those it should reject get 4/5;
 * - what it should pass on (next) is decided by the broker's default;
 * - hostile inputs (huge, empty, non-UTF-8) never make it throw or hang: it answers allow/deny/next.
 *
 *   describeAuthenticatorContract('my-auth', { plugin: () => myAuth({ ... }), accepts: [...], rejects: [...] })
 */
export function describeAuthenticatorContract (title: string, contract: AuthenticatorContract): void {
  describe(`authenticator contract: ${title}`, function () {
    this.timeout(20_000)
    let tb: TestBroker | undefined
    afterEach(async () => { await tb?.stop(); tb = undefined })
    const start = async (allowAnonymous = false): Promise<TestBroker> => {
      tb = await startTestBroker({ allowAnonymous, ...contract.broker, plugins: [await contract.plugin()] })
      return tb
    }

    for (const transport of contract.transports ?? TEST_TRANSPORTS) {
      describe(`over ${transport}`, () => {
        for (const c of contract.accepts) {
          it(`accepts ${describeCredentials(c)}`, async () => {
            const broker = await start()
            assert.equal(await connackCode(broker.url(transport), clientOptions(c)), 0)
          })
        }
        for (const c of contract.rejects) {
          it(`rejects ${describeCredentials(c)} with CONNACK ${c.returnCode ?? '4 or 5'}`, async () => {
            const broker = await start()
            const code = await connackCode(broker.url(transport), clientOptions(c))
            if (c.returnCode !== undefined) assert.equal(code, c.returnCode)
            else assert.ok(code === 4 || code === 5, `expected CONNACK 4 or 5, got ${code}`)
          })
        }
        for (const c of contract.defers ?? []) {
          it(`passes ${describeCredentials(c)} on to the default (next)`, async () => {
            const closed = await start(false)
            assert.equal(await connackCode(closed.url(transport), clientOptions(c)), 5, 'with allowAnonymous off the default refuses')
            await closed.stop()
            const open = await start(true)
            assert.equal(await connackCode(open.url(transport), clientOptions(c)), 0, 'with allowAnonymous on the default lets it in')
          })
        }
      })
    }

    describe('hostile inputs', () => {
      for (const [what, input] of hostileInputs()) {
        it(`answers ${what} without throwing or hanging`, async () => {
          const { authenticators } = await capturePlugin(await contract.plugin())
          assert.ok(authenticators.length > 0, 'the plugin registers at least one authenticator')
          for (const authenticator of authenticators) {
            let timer: NodeJS.Timeout | undefined
            const answer = await Promise.race([
              Promise.resolve().then(() => authenticator.authenticate(input)),
              new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000) })
            ]).finally(() => clearTimeout(timer))
            assert.ok(['allow', 'deny', 'next'].includes(answer.outcome), `answered ${JSON.stringify(answer)}`)
          }
        })
      }
    })
  })
}
