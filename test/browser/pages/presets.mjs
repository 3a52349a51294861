// Puts subwire/presets on window for tests that script a page.
import * as presets from '/dist/presets.mjs'
window.presets = presets
