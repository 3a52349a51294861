// Memory bench helpers, called by bench/memory.mjs through the driver.
;(function () {
  function firstEvent(sub) {
    return new Promise(function (resolve, reject) {
      sub.on('message', function () { resolve() })
      sub.on('state', function (c) { if (c.state === 'closed') reject(new Error('closed: ' + (c.error && c.error.message))) })
    })
  }
  var options = { transports: ['websocket'], lastEventId: '0', rememberFor: 0 }
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms) }) }

  // `total` subscriptions over `transport`, `batch` at a time. Each is closed at a different
  // point of its life: a third before it starts, a third while it connects, a third after its
  // first event.
  window.__cycles = async function (total, batch, transport) {
    var o = Object.assign({}, options, { transports: [transport] })
    for (var done = 0; done < total; done += batch) {
      var waits = []
      for (var i = 0; i < batch; i++) {
        var sub = Subwire.subscribe('/events', o)
        if (i % 3 === 0) sub.close()
        else if (i % 3 === 1) waits.push(sleep(i % 5).then(sub.close))
        else waits.push(firstEvent(sub).then(sub.close))
      }
      await Promise.all(waits)
    }
    // Let closing sockets finish, and the shared connection's grace (1 s after its last
    // subscription left) run out.
    await new Promise(function (r) { setTimeout(r, 1500) })
  }

  var held = []
  // Open `count` and keep them: subwire subscriptions, or bare native WebSockets for comparison.
  window.__open = async function (kind, count) {
    var opened = []
    for (var i = 0; i < count; i++) {
      if (kind === 'subwire') {
        ;(function (sub) {
          opened.push(firstEvent(sub))
          held.push(function () { sub.close() })
        })(Subwire.subscribe('/events', options))
      } else {
        ;(function (ws) {
          opened.push(new Promise(function (resolve) { ws.onmessage = function () { resolve() } }))
          held.push(function () { ws.close() })
        })(new WebSocket(location.origin.replace('http', 'ws') + '/events?transport=websocket&lastEventId=0'))
      }
    }
    await Promise.all(opened)
  }
  window.__closeAll = async function () {
    held.splice(0).forEach(function (close) { close() })
    await new Promise(function (r) { setTimeout(r, 1500) })
  }
})()
