// `npm run demo`: build if needed, start the reference server with live demo data, print the URL.
import { DEMO, startServer } from './server.mjs'

const port = Number(process.env.PORT ?? 8080)
let server
try {
  server = await startServer({ ...DEMO.server, port })
} catch (error) {
  if (error.code !== 'EADDRINUSE') throw error
  console.error(`Port ${port} is in use (another demo, or another server). Pick another one: PORT=${port + 1} npm run demo`)
  process.exit(1)
}
server.generate(DEMO.generate)
console.log(`\nsubwire demo running: ${server.origin}/demo/index.html`)
console.log(`  ES module version:  ${server.origin}/demo/esm.html`)
console.log('Press Ctrl+C to stop.\n')
