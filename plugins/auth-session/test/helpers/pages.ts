/** The host app's HTML: a real login form and a page that talks MQTT over WebSocket with mqtt.js' browser bundle. */

const escape = (s: string): string => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

export function loginPage (message = ''): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Log in</title></head>
<body>
  <h1>Log in</h1>
  ${message === '' ? '' : `<p id="message">${escape(message)}</p>`}
  <form method="post" action="/login">
    <label>User <input id="username" name="username" autocomplete="username"></label>
    <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
    <button id="submit" type="submit">Log in</button>
  </form>
</body></html>`
}

/**
 * Connects to the broker with no username and no password (the session
 * cookie is the login), subscribes to `topic` and shows what arrives. Query
 * parameters: `broker` (default ws://<this host>/mqtt) and `topic`.
 * `#status` goes connecting → subscribed, or error: <message> (code N) / closed.
 */
export function mqttPage (who: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Live</title>
<style>body { font-family: sans-serif; margin: 2em } #status { font-weight: bold } li { margin: .3em 0 }</style>
<script src="/vendor/mqtt.min.js"></script></head>
<body>
  <h1>Live messages</h1>
  <p>Page user: <span id="user">${escape(who)}</span></p>
  <p>MQTT: <span id="status">connecting</span></p>
  <ul id="messages"></ul>
  <script>
    const params = new URLSearchParams(location.search)
    const url = params.get('broker') || 'ws://' + location.host + '/mqtt'
    const topic = params.get('topic') || 'news/#'
    const status = document.getElementById('status')
    const show = (text) => { status.textContent = text }
    let connected = false
    // No username, no password: the browser sends the session cookie with the upgrade.
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, clientId: 'page-' + Math.random().toString(16).slice(2) })
    client.on('connect', () => {
      connected = true
      show('connected')
      client.subscribe(topic, { qos: 1 }, (err) => show(err ? 'subscribe failed: ' + err.message : 'subscribed'))
    })
    client.on('message', (t, payload) => {
      const li = document.createElement('li')
      li.textContent = t + ': ' + payload.toString()
      document.getElementById('messages').appendChild(li)
    })
    client.on('error', (err) => show('error: ' + err.message + (err.code === undefined ? '' : ' (code ' + err.code + ')')))
    client.on('close', () => { if (!connected && !status.textContent.startsWith('error')) show('closed before connecting') })
  </script>
</body></html>`
}
