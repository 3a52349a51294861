// One end-to-end measurement in a plain (uninstrumented) page: the driver (bench/e2e.mjs) only
// opens it and waits for the result this page posts back. Query: client (subwire | native |
// socketio), transport (or 'auto': the client's defaults), mode (throughput | latency | ttfe |
// recover), n, results (origin to post to), from.
;(function () {
  var q = new URLSearchParams(location.search)
  var client = q.get('client')
  var transport = q.get('transport')
  var mode = q.get('mode')
  var n = Number(q.get('n'))
  var results = q.get('results')
  var start = performance.now()
  var first = -1
  var count = 0
  var latencies = []
  var done = false
  var close = function () {}
  window.onerror = function (message) {
    finish({ error: String(message) })
  }

  function post(path, body) {
    // text/plain: a simple cross-origin request, no preflight.
    return fetch(results + path, { method: 'POST', body: JSON.stringify(body), mode: 'cors' })
  }

  function finish(body) {
    if (done) return
    done = true
    close()
    post('/result', body)
    document.getElementById('status').textContent = 'done'
  }

  // Every client calls this with the event's data string.
  function onData(data) {
    if (done) return
    var now = performance.now()
    if (mode === 'ttfe') return finish({ ms: now - start })
    if (mode === 'recover') {
      // The first event after a gap of more than 300 ms: the connection is back.
      if (first < 0) post('/ready', {})
      else if (now - first > 300) return finish({ at: performance.timeOrigin + now, gap: now - first })
      first = now
      return
    }
    var kind = data.charCodeAt(0)
    if (kind === 119 /* w: warm-up */) {
      if (count === 0 && first < 0) post('/ready', {})
      return
    }
    if (mode === 'throughput') {
      if (first < 0) first = now
      if (++count === n) finish({ ms: now - first, events: count })
    } else {
      // latency: "l<sent wall-clock ms>|padding"
      var sent = Number(data.slice(1, data.indexOf('|')))
      latencies.push(performance.timeOrigin + now - sent)
      if (latencies.length === n) finish({ latencies: latencies })
    }
  }

  var url = '/events'
  var from = q.get('from')
  if (client === 'subwire') {
    // Defaults, except the transport when one is named; remember=0 turns off the remembered transport.
    var options = transport === 'auto' ? {} : { transports: [transport] }
    if (q.get('remember') === '0') options.rememberFor = 0
    if (from) options.lastEventId = from
    // tabs=1: with the cross-tab add-on plugged in, in a tab alone (what one open tab of such an app pays).
    var subscribe = q.get('tabs') === '1' ? Subwire.subscribeWith({ tabs: SubwireTabs.tabs }) : Subwire.subscribe
    var sub = subscribe(url, options)
    sub.on('message', function (e) { onData(e.data) })
    close = function () { sub.close() }
  } else if (client === 'native' && transport === 'eventsource') {
    var es = new EventSource(url + (from ? '?lastEventId=' + from : ''))
    es.onmessage = function (e) { onData(e.data) }
    close = function () { es.close() }
  } else if (client === 'native' && transport === 'websocket') {
    // The reference server frames each event as SSE text; the ceiling only takes the data line.
    var ws = new WebSocket(location.origin.replace('http', 'ws') + url + '?transport=websocket' + (from ? '&lastEventId=' + from : ''))
    ws.onmessage = function (e) {
      var text = e.data
      var i = text.indexOf('data: ')
      while (i !== -1) {
        var end = text.indexOf('\n', i)
        onData(text.slice(i + 6, end))
        i = text.indexOf('data: ', end)
      }
    }
    close = function () { ws.close() }
  } else if (client === 'socketio') {
    var sioOptions =
      transport === 'auto' ? {} :
      transport === 'websocket-first' ? { transports: ['websocket', 'polling'], tryAllTransports: true } :
      { transports: [transport], upgrade: false }
    var socket = io(q.get('sio'), sioOptions)
    socket.on('message', onData)
    close = function () { socket.close() }
  }
})()
