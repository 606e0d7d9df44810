import { ConfigError, loadConfigOrExit } from '@tessera/config'
import { listen } from '@tessera/http'
import type { FastifyInstance } from 'fastify'
import { buildApp, ProfileConfigSchema } from './app.js'

const config = loadConfigOrExit(ProfileConfigSchema)

// Start-up failures (a cross-key config check, an unreachable database) end the process with one
// line, like a bad key does, rather than with a stack trace
let app: FastifyInstance
try {
  app = await buildApp(config)
} catch (err) {
  const line = err instanceof ConfigError ? err.message : `profile: start-up failed: ${(err as Error).message}`
  process.stderr.write(line + '\n')
  process.exit(1)
}

await listen(app, { host: config.HOST, port: config.PORT, graceMs: config.SHUTDOWN_GRACE_MS })
