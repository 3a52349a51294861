// The demo page. Server data only ever goes into text nodes (textContent), never innerHTML.
;(function () {
  var $ = function (id) { return document.getElementById(id) }
  var sub
  var count = 0
  var expected = 0
  var missing = 0
  var duplicated = 0

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
      decode: 'json',
      transports: choice ? [choice] : undefined,
      retry: { initialDelay: 500, maxDelay: 5000 },
      pollInterval: 1000,
    })
    sub.on('price', function (event) {
      track(event)
      $('price').textContent = event.data.symbol + ' ' + event.data.price.toFixed(2)
    })
    sub.on('notice', function (event) {
      track(event)
      item($('notices'), event.data.text + ' (#' + event.lastEventId + ')', 20)
    })
    sub.on('state', function (change) {
      $('state').textContent = change.state
      $('attempt').textContent = String(change.attempt)
      if (change.transport) $('transport').textContent = change.transport
      var text = new Date().toLocaleTimeString() + ' ' + change.state + ' ' + (change.transport || '')
      if (change.delay !== undefined) text += ' in ' + change.delay + ' ms'
      if (change.error) text += ' (' + change.error.name + ')'
      item($('timeline'), text, 30)
    })
    window.__demo = { sub: sub }
  }

  setInterval(function () {
    $('rate').textContent = String(count)
    count = 0
  }, 1000)

  document.querySelector('.controls').addEventListener('click', function (e) {
    var action = e.target && e.target.getAttribute('data-action')
    if (!action) return
    var body = {}
    var path = action
    if (action === 'block-websocket') {
      path = 'refuse'
      body = { transports: ['websocket'] }
    }
    fetch('/control/' + path, { method: 'POST', body: JSON.stringify(body) })
  })
  $('transports').addEventListener('change', start)
  start()
})()
