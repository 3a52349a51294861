// A Svelte 5 app: components using the subwire/svelte store as `$store`, driven by the test
// through window.app. The test compiles the .svelte files before Vite bundles this.
import { mount, unmount } from 'svelte'
import App from './App.svelte'

const app = mount(App, { target: document.getElementById('root') })
window.app = {
  setOptions: (o) => app.setRoom(o.query.room),
  answer: () => app.showAnswer(),
  unmount: () => unmount(app),
}
