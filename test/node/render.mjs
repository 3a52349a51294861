// Server-renders the framework recipes of docs/recipes/ (on subwire/react, /vue, /svelte) in a Node process of its own, as an SSR
// framework would: React's renderToString, Vue's renderToString, Svelte's render. Prints what
// each rendered and how many network calls were made; then returns, so that the process exits
// by itself only if nothing (no socket, no timer) is left open.
// Usage: node render.mjs <dir with the compiled recipes> <events url>
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'

const [dir, url] = process.argv.slice(2)
let calls = 0
const realFetch = globalThis.fetch
globalThis.fetch = (...args) => (calls++, realFetch(...args))
if (globalThis.WebSocket) globalThis.WebSocket = class extends globalThis.WebSocket {
  constructor(...args) {
    calls++
    super(...args)
  }
}
const load = (file) => import(pathToFileURL(join(dir, file)).href)
const rendered = {}

const { createElement } = await import('react')
const { renderToString: reactRender } = await import('react-dom/server')
const { LatestNotice } = await load('react.mjs')
rendered.react = reactRender(createElement(LatestNotice, { url }))

const { createSSRApp, h } = await import('vue')
const { renderToString: vueRender } = await import('vue/server-renderer')
const { LatestNotice: VueNotice } = await load('vue.mjs')
rendered.vue = await vueRender(createSSRApp({ render: () => h(VueNotice, { url }) }))

const { render: svelteRender } = await import('svelte/server')
const { default: Notice } = await load('LatestNotice.mjs')
rendered.svelte = svelteRender(Notice, { props: { url } }).body

console.log(JSON.stringify({ rendered, calls }))
