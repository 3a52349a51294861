// Loaded before subwire (the sharing tests, the memory bench): counts live timers and window
// listeners, so a run can see whether closed subscriptions leave any behind.
;(function () {
  var live = new Set()
  var set = window.setTimeout
  var clear = window.clearTimeout
  window.setTimeout = function (fn, ms) {
    var id = set(function () {
      live.delete(id)
      fn()
    }, ms)
    live.add(id)
    return id
  }
  window.clearTimeout = function (id) {
    live.delete(id)
    clear(id)
  }
  // type → listeners registered on window (a removal of one never added counts nothing, as in the DOM)
  var listeners = new Map()
  var add = window.addEventListener
  var remove = window.removeEventListener
  window.addEventListener = function (type, fn, options) {
    if (!listeners.has(type)) listeners.set(type, new Set())
    listeners.get(type).add(fn)
    return add.call(this, type, fn, options)
  }
  window.removeEventListener = function (type, fn, options) {
    if (listeners.has(type)) listeners.get(type).delete(fn)
    return remove.call(this, type, fn, options)
  }
  var count = function () {
    var n = 0
    listeners.forEach(function (set) { n += set.size })
    return n
  }
  window.__track = function () {
    return { timers: live.size, windowListeners: count() }
  }
})()
