// Loaded as a module script next to the UMD <script> tag; reports what both expose.
import * as esm from '/dist/subwire.mjs'
import * as parserEntry from '/dist/parser.mjs'

const umd = globalThis.Subwire
window.__bundles = {
  umdKeys: umd ? Object.keys(umd).sort() : null,
  esmKeys: Object.keys(esm).sort(),
  parserKeys: Object.keys(parserEntry).sort(),
}
document.getElementById('status').textContent = 'ready'
