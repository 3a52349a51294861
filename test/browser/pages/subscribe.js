// Subscribes with the options in the query string and records everything for the test driver.
;(function () {
  var params = new URLSearchParams(location.search)
  var options = JSON.parse(params.get('options') || '{}')
  var record = (window.__record = { events: [], states: [], errors: [], opens: [], firstEventMs: undefined })
  var started = performance.now()
  var sub = (window.__sub = Subwire.subscribe(params.get('url') || '/events', options))
  sub.on('state', function (change) {
    record.states.push({ state: change.state, transport: change.transport, attempt: change.attempt, delay: change.delay, waitingFor: change.waitingFor })
  })
  sub.on('open', function (info) {
    record.opens.push(info.transport)
  })
  sub.on('error', function (error) {
    record.errors.push({ name: error.name, kind: error.kind, message: error.message })
  })
  function push(event) {
    if (record.firstEventMs === undefined) record.firstEventMs = Math.round(performance.now() - started)
    record.events.push({ type: event.type, data: event.data, id: event.id, lastEventId: event.lastEventId, transport: event.transport })
  }
  var types = (params.get('types') || 'message,tick').split(',')
  for (var i = 0; i < types.length; i++) sub.on(types[i], push)
})()
