#!/usr/bin/env node
/** `npm start`: runs the example on PORT (default 3000) and MQTT_PORT (default 1883) and prints where to connect. */
import { isEmbedmqError, portFromEnv } from '@embedmq/core'
import { startApp } from './app.js'

function portFrom (name: string, fallback: number): number {
  try {
    return portFromEnv(name, fallback)
  } catch (err) {
    console.error((err as Error).message)
    process.exit(1)
  }
}

try {
  const app = await startApp({
    port: portFrom('PORT', 3000),
    mqttPort: portFrom('MQTT_PORT', 1883),
    host: process.env.HOST ?? '127.0.0.1'
  })
  console.log([
    '',
    'embedmq example: an Express app with an embedded MQTT broker',
    `  REST API           ${app.urls.http}/api/machines`,
    `  health             ${app.urls.http}/healthz`,
    `  MQTT over TCP      ${app.urls.mqtt}`,
    `  MQTT over WS       ${app.urls.ws}`,
    '',
    'Try it:',
    `  mosquitto_pub -h 127.0.0.1 -p ${new URL(app.urls.mqtt).port} -t machines/press-1/telemetry -m '{"temp":41.5}'`,
    `  curl ${app.urls.http}/api/machines`,
    `  mosquitto_sub -h 127.0.0.1 -p ${new URL(app.urls.mqtt).port} -t 'machines/+/cmd' -v &`,
    `  curl -X POST -H 'content-type: application/json' -d '{"command":"stop"}' ${app.urls.http}/api/machines/press-1/commands`,
    '',
    'Ctrl-C stops.',
    ''
  ].join('\n'))
  let stopping = false
  const shutdown = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    app.stop().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
} catch (err) {
  console.error(isEmbedmqError(err) || err instanceof Error ? err.message : err)
  process.exit(1)
}
