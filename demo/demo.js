// The demo page. Server data only ever goes into text nodes (textContent), never innerHTML.
;(function () {
  var $ = function (id) { return document.getElementById(id) }
  var sub
  var count = 0
  var expected = 0
  var missing = 0
  var duplicated = 0
  // "go offline" is simulated in the page: subwire reads navigator.onLine through env.online.
  var offline = false
  var answer

  function item(list, text, keep) {
    var li = document.createElement('li')
    li.textContent = text
    list.insertBefore(li, list.firstChild)
    while (list.children.length > keep) list.removeChild(list.lastChild)
  }

  function track(event) {
    count++
    var id = Number(event.lastEventId)
    if (expected && id > expected) missing += id - expected
    if (expected && id < expected) duplicated++
    expected = id + 1
    $('last-id').textContent = event.lastEventId
    $('gaps').textContent = missing + ' / ' + duplicated
    $('transport').textContent = event.transport
  }

  function start() {
    if (sub) sub.close()
    var choice = $('transports').value
    sub = Subwire.subscribe('/events', {
      // Prices, notices and tokens are JSON; the plain `message` ticks are text.
      decode: function (data, type) { return type === 'message' ? data : JSON.parse(data) },
      // Every event of every type (the plain `message` ticks too) counts towards missing/duplicated.
      onMessage: track,
      transports: choice ? [choice] : undefined,
      // A new choice of transport carries on from the last event seen, as a drop would.
      lastEventId: expected ? String(expected - 1) : undefined,
      retry: { initialDelay: 500, maxDelay: 5000 },
      pollInterval: 1000,
      env: { online: function () { return !offline && navigator.onLine !== false } },
      // Every decision, as a structured record: shown as text, never as HTML.
      log: function (record) {
        var text = new Date().toLocaleTimeString() + ' ' + record.type + (record.transport ? ' ' + record.transport : '')
        if (record.delay !== undefined) text += ' in ' + record.delay + ' ms'
        if (record.waitingFor) text += ' until ' + record.waitingFor
        if (record.shared) text += ' (' + record.shared + ')'
        if (record.error) text += ': ' + record.error.message
        item($('log'), text, 40)
      },
    })
    sub.on('token', function (event) {
      if (!answer) {
        answer = document.createElement('p')
        $('answers').insertBefore(answer, $('answers').firstChild)
        while ($('answers').children.length > 4) $('answers').removeChild($('answers').lastChild)
      }
      answer.appendChild(document.createTextNode(event.data.t + ' '))
      if (event.data.end) answer = undefined
    })
    sub.on('price', function (event) {
      $('price').textContent = event.data.symbol + ' ' + event.data.price.toFixed(2)
    })
    sub.on('notice', function (event) {
      item($('notices'), event.data.text + ' (#' + event.lastEventId + ')', 20)
    })
    sub.on('state', function (change) {
      $('state').textContent = change.state
      $('shared').textContent = change.shared || '–'
      $('attempt').textContent = String(change.attempt)
      if (change.transport) $('transport').textContent = change.transport
      $('next').textContent = change.waitingFor ? 'when ' + change.waitingFor : change.delay !== undefined ? change.delay + ' ms' : '–'
      var text = new Date().toLocaleTimeString() + ' ' + change.state + ' ' + (change.transport || '')
      if (change.delay !== undefined) text += ' in ' + change.delay + ' ms'
      if (change.waitingFor) text += ' waiting for ' + change.waitingFor
      if (change.error) text += ' (' + change.error.message + ')'
      item($('timeline'), text, 30)
    })
    window.__demo = { sub: sub }
  }

  setInterval(function () {
    $('rate').textContent = String(count)
    count = 0
  }, 1000)

  // How many streams (SSE responses, WebSockets, held long polls) the server has open now.
  setInterval(function () {
    fetch('/control/state')
      .then(function (r) { return r.json() })
      .then(function (state) { $('streams').textContent = String(state.open.length + state.waiting) })
      .catch(function () {})
  }, 2000)

  document.querySelector('.controls').addEventListener('click', function (e) {
    var action = e.target && e.target.getAttribute('data-action')
    if (!action) return
    if (action === 'open-tab') return void window.open(location.href, '_blank')
    var body = {}
    var path = action
    if (action === 'block-websocket') {
      path = 'refuse'
      body = { transports: ['websocket'] }
    }
    if (action === 'buffer-sse') {
      path = 'faults'
      body = { bufferSse: 2000 }
    }
    if (action === 'offline') {
      offline = !offline
      e.target.textContent = offline ? 'go online' : 'go offline'
      window.dispatchEvent(new Event(offline ? 'offline' : 'online'))
      // Losing the network kills the open connection too.
      if (!offline) return
      path = 'drop'
    }
    fetch('/control/' + path, { method: 'POST', body: JSON.stringify(body) })
  })
  $('transports').addEventListener('change', start)
  start()
})()
