import { loadConfigOrExit } from '@tessera/config'
import { listen } from '@tessera/http'
import { buildApp, GatewayConfigSchema } from './app.js'

const config = loadConfigOrExit(GatewayConfigSchema)
const app = await buildApp(config)

await listen(app, { host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS })
