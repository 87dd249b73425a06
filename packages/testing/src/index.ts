/**
 * @embedmq/testing: what a plugin author needs to test against a real broker.
 * - startTestBroker(): a broker on ephemeral loopback ports (TCP + WebSocket) with a MemoryLogger;
 * - connect / connackCode / subackCodes / collect / eventually: mqtt.js helpers with bounded waits;
 * - describeAuthenticatorContract / describeAuthorizerContract: mocha suites every auth plugin should pass;
 * - capturePlugin(): what a plugin registers, to call its extensions directly.
 */
export { startTestBroker, TEST_TRANSPORTS, type TestBroker, type TestTransport } from './broker.js'
export { collect, connackCode, connect, eventually, subackCodes, type Received } from './clients.js'
export { capturePlugin, type Captured } from './contracts/capture.js'
export { describeAuthenticatorContract, type AuthenticatorContract, type Credentials } from './contracts/authenticator.js'
export { describeAuthorizerContract, type AuthorizerContract, type TestIdentity } from './contracts/authorizer.js'
export { tempDirs, type TempDirs } from './temp-dirs.js'
export { makeTestPki, type TestPki } from './pki.js'
export { dateSeed, deriveSeed, SeededRandom } from './seeded-random.js'
export { CHROMIUM_ARGS, CHROMIUM_EXECUTABLE, requireChromium, testArtifactPath } from './browser.js'
