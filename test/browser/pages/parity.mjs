// One client of the parity matrix: the browser's own EventSource, or subwire with the options the
// row names, against one plain server. It counts every event by its data ("e<k>") and resolves when
// the last one arrived or the time is up. With `mark`, an event whose data does not carry that text
// intact (a character split across pieces and decoded wrong) counts as corrupt.
import { subscribe } from '/dist/subwire.mjs'

window.runClient = ({ client, url, options = {}, total, types = [], timeout, mark }) =>
  new Promise((resolve) => {
    const started = performance.now()
    const seen = []
    const errors = []
    const states = []
    let resets = 0
    let corrupt = 0
    let stop = () => {}
    let timer
    const finish = (done) => {
      clearTimeout(timer)
      stop()
      resolve({ seen, corrupt, done, time: Math.round(performance.now() - started), errors: errors.slice(0, 20), states: states.slice(0, 40), resets })
    }
    const onEvent = (data) => {
      // (Listeners of 'error' and 'reset' hear the client's own errors and resets too: no data.)
      if (typeof data !== 'string') return
      const k = Number(/^e(\d+)/.exec(data)?.[1])
      if (mark && !data.startsWith(`e${k}${mark}`)) corrupt++
      seen.push(k)
      if (k === total) finish(true)
    }
    timer = setTimeout(() => finish(false), timeout)
    if (client === 'native') {
      const source = new EventSource(url)
      for (const type of ['message', ...types]) source.addEventListener(type, (e) => onEvent(e.data))
      stop = () => source.close()
      return
    }
    const sub = subscribe(url, options)
    for (const type of ['message', ...types]) sub.on(type, (e) => onEvent(e.data))
    sub.on('error', (e) => errors.push(e.message.slice(0, 200)))
    sub.on('state', (s) => states.push(`${s.state}:${s.transport}`))
    sub.on('reset', () => resets++)
    stop = () => sub.close()
  })
window.ready = true
