import { ConfigError } from '@tessera/config'
import { listen } from '@tessera/http'
import { buildApp, loadMediaConfig, type MediaConfig } from './app.js'

// loadConfigOrExit's behaviour, for the checks beyond the schema that loadMediaConfig adds.
function loadConfigOrExit (): MediaConfig {
  try {
    return loadMediaConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(err.message + '\n')
    process.exit(1)
  }
}

const config = loadConfigOrExit()
const app = await buildApp(config)

await listen(app, { host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS })
