/* global document, window, location, fetch, setInterval, mqtt, uPlot */
// The Smart Factory dashboard: plain browser JavaScript, no bundler.
// Live data arrives over MQTT (mqtt.js over WebSocket on this page's own port,
// logged in by the session cookie); commands and alarm acknowledgements go
// through the HTTP API, which only operators may call.
'use strict'

const STATES = ['RUNNING', 'IDLE', 'FAULT', 'MAINTENANCE', 'OFFLINE']
const ACTIONS = [
  { action: 'start', label: 'Start' },
  { action: 'stop', label: 'Stop' },
  { action: 'reset', label: 'Reset' },
  { action: 'maintenance', label: 'Maint.' },
  { action: 'fault', label: 'Fault' }
]
const HISTORY_SECONDS = 300
const STALE_MS = 10_000
const COLORS = ['#58a6ff', '#2fbf71', '#f0a92e', '#d2a8ff', '#f0524f', '#39c5cf', '#ff9bce', '#a5d6ff']

const $ = (id) => document.getElementById(id)
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') node.className = v
    else if (k === 'text') node.textContent = v
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
    else node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c)
  return node
}
const fmt = (value, digits = 1) => (typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–')
const pct = (value) => (typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '–')
const grade = (value) => (typeof value !== 'number' ? '' : value >= 0.85 ? 'good' : value >= 0.6 ? 'fair' : 'poor')
// Tiles sit under their line's header: "Press (L1)" reads as "Press" there.
const shortName = (name) => String(name).replace(/\s*\(L\d+\)$/, '')
const timeOf = (ts) => new Date(ts).toLocaleTimeString([], { hour12: false })
const ago = (ts) => {
  if (!ts) return 'never'
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000))
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`
}

const model = {
  user: null,
  plant: null,
  machines: new Map(),       // id → { spec, state, reason, telemetry, lastSeen, oee, history: [{t, temp, parts}] }
  lineOee: new Map(),
  alarms: new Map(),
  selectedLine: null
}
let charts = { temp: null, ppm: null, line: null }

async function getJson (url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } })
  if (res.status === 401) { location.href = '/login'; throw new Error('logged out') }
  if (!res.ok) throw new Error(`${url}: ${res.status}`)
  return res.json()
}

async function postJson (url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) })
  let data = {}
  try { data = await res.json() } catch { /* not JSON */ }
  if (res.status === 401) { location.href = '/login' }
  return { status: res.status, data }
}

function canCommand () {
  return model.user && model.user.role === 'operator'
}

/* ---------- Rendering the plant ---------- */

function renderPlant () {
  const { plant } = model
  $('site').textContent = `${plant.site} · line control`
  const lines = $('lines')
  lines.replaceChildren()
  for (const line of plant.lines) {
    const machines = plant.machines.filter((m) => m.line === line)
    const head = el('div', { class: 'line-head' },
      el('div', { class: 'line-name', text: line.toUpperCase() }),
      el('div', { class: 'line-counts', id: `counts-${line}`, 'data-testid': `counts-${line}` }),
      el('div', { class: 'oee' },
        oeeFigure('Availability', `oee-a-${line}`),
        oeeFigure('Performance', `oee-p-${line}`),
        oeeFigure('Quality', `oee-q-${line}`),
        oeeFigure('OEE', `oee-${line}`, 'main')))
    const tiles = el('div', { class: 'tiles' }, ...machines.map(renderTile))
    lines.append(el('section', { class: 'line', 'data-testid': `line-${line}`, 'data-line': line }, head, tiles))
  }
  const tabs = $('chart-tabs')
  tabs.replaceChildren(...plant.lines.map((line) => el('button', {
    role: 'tab', 'data-line': line, 'data-testid': `chart-tab-${line}`, text: line.toUpperCase(), onclick: () => selectLine(line)
  })))
}

function oeeFigure (label, testid, extra = '') {
  return el('div', { class: `oee-fig ${extra}` }, el('span', { class: 'k', text: label }), el('span', { class: 'v', id: testid, 'data-testid': testid, text: '–' }))
}

function renderTile (spec) {
  const id = spec.id
  const metric = (label, key) => el('div', { class: 'metric' }, el('span', { class: 'k', text: label }), el('span', { class: 'v', id: `${key}-${id}`, 'data-testid': `${key}-${id}`, text: '–' }))
  const speedLabel = spec.kind === 'cnc-mill' ? 'rpm' : 'Cycle s'
  const actions = canCommand()
    ? el('div', { class: 'actions' },
      ...ACTIONS.map(({ action, label }) => el('button', {
        class: action, 'data-testid': `cmd-${action}-${id}`, 'data-action': action, text: label, title: `${label} ${spec.name}`,
        onclick: (ev) => sendCommand(id, action, undefined, ev.currentTarget)
      })),
      el('select', {
        'data-testid': `rate-${id}`, title: 'Rate setpoint, % of ideal',
        onchange: (ev) => { if (ev.target.value) sendCommand(id, 'set-rate', Number(ev.target.value), ev.target) }
      }, el('option', { value: '', text: 'Rate…' }), ...[50, 75, 100, 110, 120].map((v) => el('option', { value: v, text: `${v}%` }))))
    : null
  return el('article', { class: 'tile', id: `tile-${id}`, 'data-testid': `tile-${id}`, 'data-machine': id, 'data-state': 'OFFLINE', 'data-updates': '0' },
    el('div', { class: 'tile-head' },
      el('div', {}, el('div', { class: 'tile-name', id: `name-${id}`, text: shortName(spec.name), title: spec.name }), el('div', { class: 'tile-id', text: id, title: spec.kind })),
      el('span', { class: 'state', id: `state-${id}`, 'data-testid': `state-${id}`, 'data-state': 'OFFLINE', text: 'NO DATA' })),
    el('div', { class: 'reason', id: `reason-${id}`, 'data-testid': `reason-${id}` }),
    el('div', { class: 'metrics' },
      metric('°C', 'temp'), metric('mm/s', 'vib'), metric(speedLabel, 'speed'),
      metric('Parts', 'parts'), metric('Scrap', 'scrap'), metric('OEE', 'moee')),
    el('div', { class: 'tile-foot' },
      el('span', { class: 'rate', id: `ratepct-${id}`, 'data-testid': `ratepct-${id}`, text: 'rate –' }),
      el('span', { class: 'seen', id: `seen-${id}`, 'data-testid': `seen-${id}`, text: 'never' })),
    actions)
}

function machine (id) {
  let m = model.machines.get(id)
  if (!m) {
    const spec = model.plant && model.plant.machines.find((s) => s.id === id)
    if (!spec) return null
    m = { spec, state: undefined, reason: '', telemetry: null, lastSeen: 0, oee: null, history: [] }
    model.machines.set(id, m)
  }
  return m
}

/** A state from the state channel or telemetry; a change is logged in Activity once, whichever came first. */
function applyState (id, state, reason) {
  const m = machine(id)
  if (!STATES.includes(state)) return
  const changed = m.state !== undefined && m.state !== state
  const kind = state === 'FAULT' ? 'bad' : state === 'RUNNING' ? 'ok' : ''
  if (changed) activity(`${id} → ${state}${reason ? ` (${reason})` : ''}`, kind)
  else if (reason && !m.reason && m.state === state) activity(`${id} ${state}: ${reason}`, kind)   // the reason, after telemetry told the change
  m.state = state
  m.reason = reason
  showState(id)
}

function showState (id) {
  const m = machine(id)
  if (!m) return
  const state = m.state || 'OFFLINE'
  $(`tile-${id}`).dataset.state = state
  const label = $(`state-${id}`)
  label.dataset.state = state
  label.textContent = m.state || 'NO DATA'
  $(`reason-${id}`).textContent = m.reason || ''
  updateLineCounts(m.spec.line)
}

function updateLineCounts (line) {
  const counts = {}
  for (const spec of model.plant.machines.filter((s) => s.line === line)) {
    const state = (model.machines.get(spec.id) || {}).state || 'OFFLINE'
    counts[state] = (counts[state] || 0) + 1
  }
  $(`counts-${line}`).textContent = STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.toLowerCase()}`).join(' · ')
}

function showTelemetry (id) {
  const m = machine(id)
  const t = m.telemetry
  const tile = $(`tile-${id}`)
  tile.dataset.updates = String(Number(tile.dataset.updates) + 1)
  tile.dataset.ts = String(t.ts)
  const temp = $(`temp-${id}`)
  temp.textContent = fmt(t.temperature)
  temp.classList.toggle('hot', t.temperature > 65)
  $(`vib-${id}`).classList.toggle('hot', t.vibration > 7.1)
  $(`vib-${id}`).textContent = fmt(t.vibration, 2)
  $(`speed-${id}`).textContent = m.spec.kind === 'cnc-mill' ? fmt(t.spindleSpeed, 0) : fmt(t.cycleTime, 2)
  $(`parts-${id}`).textContent = fmt(t.partCount, 0)
  $(`scrap-${id}`).textContent = fmt(t.scrapCount, 0)
  $(`ratepct-${id}`).textContent = `rate ${fmt(t.ratePercent, 0)}%`
  $(`seen-${id}`).textContent = ago(m.lastSeen)
}

function showLineOee (line, f) {
  const set = (id, v) => { const node = $(id); if (node) { node.textContent = pct(v); node.className = `v ${grade(v)}` } }
  set(`oee-a-${line}`, f.availability)
  set(`oee-p-${line}`, f.performance)
  set(`oee-q-${line}`, f.quality)
  set(`oee-${line}`, f.oee)
}

/* ---------- Alarms ---------- */

function renderAlarms () {
  const rank = { critical: 0, warning: 1, info: 2 }
  const list = [...model.alarms.values()].sort((a, b) =>
    Number(!!a.acknowledgedBy) - Number(!!b.acknowledgedBy) || Number(!!a.cleared) - Number(!!b.cleared) ||
    (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3) || b.raisedAt - a.raisedAt)
  const open = list.filter((a) => !a.acknowledgedBy).length
  const count = $('alarm-count')
  count.textContent = String(open)
  count.classList.toggle('hot', open > 0)
  $('no-alarms').hidden = list.length > 0
  $('alarms').replaceChildren(...list.map((a) => {
    const name = (model.plant.machines.find((s) => s.id === a.machine) || {}).name || a.machine
    const status = a.acknowledgedBy ? `ack ${a.acknowledgedBy} ${timeOf(a.acknowledgedAt)}` : a.cleared ? 'cleared, unacknowledged' : 'active'
    return el('li', {
      class: 'alarm', 'data-testid': `alarm-${a.id}`, 'data-alarm': a.id, 'data-machine': a.machine, 'data-code': a.code,
      'data-severity': a.severity, 'data-acknowledged': String(!!a.acknowledgedBy), 'data-cleared': String(!!a.cleared)
    },
    el('span', { class: 'sev', title: a.severity }),
    el('div', {},
      el('div', { class: 'alarm-top' }, el('span', { class: 'alarm-code', text: a.code }), el('span', { class: 'alarm-machine', text: a.machine }),
        el('span', { class: `tag ${a.cleared ? '' : 'active'}`, text: a.severity })),
      el('div', { class: 'alarm-msg', text: a.message }),
      el('div', { class: 'alarm-meta', text: `${timeOf(a.raisedAt)} · ${name} · ${status}` })),
    !a.acknowledgedBy && canCommand()
      ? el('button', { 'data-testid': `ack-${a.id}`, text: 'Acknowledge', onclick: (ev) => acknowledge(a.id, ev.currentTarget) })
      : el('span'))
  }))
}

async function acknowledge (alarmId, button) {
  button.disabled = true
  const { status, data } = await postJson(`/api/alarms/${encodeURIComponent(alarmId)}/ack`, {})
  if (status === 200) {
    activity(`ack alarm ${data.alarm.code} on ${data.alarm.machine}${data.removed ? ' (cleared, removed)' : ''}`, 'ok')
  } else {
    toast(`Acknowledge failed: ${data.error || status}`, 'bad')
    button.disabled = false
  }
}

/* ---------- Commands ---------- */

async function sendCommand (id, action, value, control) {
  control.disabled = true
  const label = action === 'set-rate' ? `set-rate ${value}%` : action
  try {
    const { status, data } = await postJson(`/api/machines/${encodeURIComponent(id)}/commands`, value === undefined ? { action } : { action, value })
    if (status === 200) {
      toast(`${id}: ${label} acknowledged → ${data.ack.state}`, 'ok')
      activity(`${id} ${label} → ok (${data.ack.state})`, 'ok')
    } else if (status === 409) {
      toast(`${id} refused ${label}: ${data.ack.error}`, 'bad')
      activity(`${id} ${label} → refused: ${data.ack.error}`, 'bad')
    } else if (status === 202) {
      toast(`${id}: ${label} ${data.message}`, 'warn')
      activity(`${id} ${label} → ${data.message}`, 'warn')
    } else {
      toast(`${id}: ${label} failed: ${data.error || status}`, 'bad')
      activity(`${id} ${label} → ${data.error || status}`, 'bad')
    }
  } catch (err) {
    toast(`${id}: ${label} failed: ${err.message}`, 'bad')
  } finally {
    control.disabled = false
    if (control.tagName === 'SELECT') control.value = ''
  }
}

function toast (text, kind = '') {
  const node = el('div', { class: `toast ${kind}`, 'data-testid': 'toast', text })
  $('toasts').append(node)
  setTimeout(() => node.remove(), 5000)
}

function activity (text, kind = '') {
  const list = $('activity')
  list.prepend(el('li', {}, `${timeOf(Date.now())} `, el('span', { class: kind, text })))
  while (list.children.length > 60) list.lastChild.remove()
}

/* ---------- Charts ---------- */

function selectLine (line) {
  model.selectedLine = line
  for (const b of $('chart-tabs').children) b.setAttribute('aria-selected', String(b.dataset.line === line))
  buildCharts()
}

function buildCharts () {
  const line = model.selectedLine
  const specs = model.plant.machines.filter((m) => m.line === line)
  const width = Math.max(300, $('chart-temp').clientWidth || 400)
  const hhmm = (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false }))
  const axes = [
    { stroke: '#8b98a5', grid: { stroke: '#2a323d', width: 1 }, ticks: { stroke: '#2a323d' }, values: hhmm, space: 80 },
    { stroke: '#8b98a5', grid: { stroke: '#2a323d', width: 1 }, ticks: { stroke: '#2a323d' }, size: 42 }
  ]
  const series = [{}, ...specs.map((s, i) => ({ label: s.id, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))]
  const empty = [[], ...specs.map(() => [])]
  charts.temp?.destroy()
  charts.ppm?.destroy()
  charts = {
    line,
    specs,
    temp: new uPlot({ width, height: 150, series, axes, legend: { live: false }, cursor: { show: true } }, empty, $('chart-temp')),
    ppm: new uPlot({ width, height: 150, series, axes, legend: { live: false }, cursor: { show: true }, scales: { y: { range: (u, min, max) => [0, Math.max(5, max * 1.1)] } } }, empty, $('chart-ppm'))
  }
  updateCharts()
}

function sample () {
  const now = Date.now()
  for (const m of model.machines.values()) {
    const t = m.telemetry
    if (!t || now - m.lastSeen > STALE_MS) { m.history.push({ t: now, temp: null, parts: null }); } else m.history.push({ t: now, temp: t.temperature, parts: t.partCount })
    while (m.history.length && now - m.history[0].t > HISTORY_SECONDS * 1000) m.history.shift()
  }
}

function updateCharts () {
  if (!charts.temp) return
  const now = Date.now()
  // From the oldest sample (at most HISTORY_SECONDS ago), so a fresh page is not one sliver at the right edge.
  let oldest = now
  for (const spec of charts.specs) {
    const h = (model.machines.get(spec.id) || { history: [] }).history
    const first = h.find((e) => e.temp != null)
    if (first) oldest = Math.min(oldest, first.t)
  }
  const span = Math.min(HISTORY_SECONDS, Math.max(60, Math.ceil((now - oldest) / 1000)))
  const xs = []
  for (let s = span; s >= 0; s -= 2) xs.push(Math.round((now - s * 1000) / 1000))
  const column = (spec, pick) => {
    const h = (model.machines.get(spec.id) || { history: [] }).history
    let i = 0
    return xs.map((x) => {
      while (i < h.length && h[i].t / 1000 <= x) i++
      const entry = h[i - 1]
      return entry && x - entry.t / 1000 < 2.5 ? pick(h, i - 1) : null
    })
  }
  const temp = charts.specs.map((spec) => column(spec, (h, i) => h[i].temp))
  // Parts per minute over the last 60 s (or what history there is); a counter that went down (restart) gives no point.
  const ppm = charts.specs.map((spec) => column(spec, (h, i) => {
    const cur = h[i]
    let j = i
    while (j > 0 && cur.t - h[j - 1].t <= 60_000) j--
    while (j < i && h[j].parts == null) j++
    const old = h[j]
    if (cur.parts == null || old.parts == null || cur.t - old.t < 5000 || cur.parts < old.parts) return null
    return (cur.parts - old.parts) / ((cur.t - old.t) / 60_000)
  }))
  charts.temp.setData([xs, ...temp])
  charts.ppm.setData([xs, ...ppm])
}

/* ---------- MQTT ---------- */

function setConnection (status, text) {
  const node = $('mqtt-status')
  node.dataset.status = status
  node.className = `conn conn-${status}`
  node.textContent = text
}

function onMessage (topic, payload) {
  const parts = topic.split('/')
  if (parts[0] !== 'factory' || parts[1] !== model.plant.site) return
  const text = payload.toString()
  if (parts[2] === 'alarms' && parts.length === 4) {
    if (text === '') model.alarms.delete(parts[3])
    else { const a = parseJson(text); if (a && a.id) model.alarms.set(a.id, a) }
    renderAlarms()
    return
  }
  if (parts.length === 4 && parts[3] === 'oee') {
    const f = parseJson(text)
    if (f) { model.lineOee.set(parts[2], f); showLineOee(parts[2], f) }
    return
  }
  if (parts.length < 5) return
  const id = parts[3]
  const channel = parts.slice(4).join('/')
  const m = machine(id)
  if (!m || m.spec.line !== parts[2] || text === '') return
  const msg = parseJson(text)
  if (!msg) return
  switch (channel) {
    case 'info':
      if (msg.name) $(`name-${id}`).textContent = shortName(msg.name)
      break
    case 'state':
      if (msg.state !== 'OFFLINE') m.lastSeen = Math.max(m.lastSeen, Date.now())
      applyState(id, msg.state, msg.reason || '')
      break
    case 'telemetry':
      m.telemetry = msg
      m.lastSeen = Date.now()
      // Telemetry carries the state too (QoS 0 may overtake the QoS 1 state message, which then brings the reason).
      if (STATES.includes(msg.state) && msg.state !== 'OFFLINE' && msg.state !== m.state) applyState(id, msg.state, '')
      showTelemetry(id)
      break
    case 'oee':
      m.oee = msg
      $(`moee-${id}`).textContent = pct(msg.oee)
      $(`moee-${id}`).className = `v ${grade(msg.oee)}`
      break
    default:
      break
  }
}

function parseJson (text) {
  try { const v = JSON.parse(text); return v && typeof v === 'object' ? v : null } catch { return null }
}

function connectMqtt () {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`
  const client = mqtt.connect(url, {
    clientId: `dashboard-${model.user.username}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 2000,
    connectTimeout: 8000
  })
  window.factoryMqtt = client
  client.on('connect', () => {
    setConnection('connected', 'MQTT connected')
    client.subscribe(`factory/${model.plant.site}/#`, { qos: 1 }, (err, granted) => {
      if (err || !granted || granted.some((g) => g.qos === 128)) setConnection('error', 'MQTT subscription refused')
    })
  })
  client.on('reconnect', () => setConnection('reconnecting', 'MQTT reconnecting…'))
  client.on('offline', () => setConnection('offline', 'MQTT offline'))
  client.on('error', (err) => {
    setConnection('error', `MQTT ${err.message}`)
    // Refused as not authorized: the session ended (logged out elsewhere, server restarted).
    if (/Not authorized/i.test(err.message)) fetch('/api/me').then((r) => { if (r.status === 401) location.href = '/login' })
  })
  client.on('message', onMessage)
}

/* ---------- Start ---------- */

async function main () {
  model.user = await getJson('/api/me')
  model.plant = await getJson('/api/plant')
  $('user').textContent = model.user.username
  $('role').textContent = model.user.role
  document.body.dataset.role = model.user.role
  for (const spec of model.plant.machines) machine(spec.id)
  renderPlant()
  renderAlarms()
  selectLine(model.plant.lines[0])
  connectMqtt()
  setInterval(() => {
    $('clock').textContent = timeOf(Date.now())
    sample()
    for (const m of model.machines.values()) {
      $(`seen-${m.spec.id}`).textContent = ago(m.lastSeen)
      $(`tile-${m.spec.id}`).classList.toggle('stale', m.lastSeen > 0 && Date.now() - m.lastSeen > STALE_MS)
    }
  }, 1000)
  setInterval(updateCharts, 2000)
  window.addEventListener('resize', () => { if (charts.temp) buildCharts() })
}

main().catch((err) => {
  setConnection('error', `start failed: ${err.message}`)
})
