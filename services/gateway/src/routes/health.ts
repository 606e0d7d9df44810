import type { FastifyInstance } from 'fastify'
import { HealthcheckSchema } from '../schemas/gateway.js'

export interface HealthcheckOptions {
  debug: boolean
  version: string
}

/** `GET /healthcheck/`, the status the frontend and load balancers read. */
export async function healthcheckRoutes (app: FastifyInstance, opts: HealthcheckOptions): Promise<void> {
  const body = { status: 'available', debug: String(opts.debug), version: opts.version } as const

  app.get('/healthcheck/', {
    config: { operation: 'gateway.healthcheck' },
    schema: { tags: ['gateway'], response: { 200: HealthcheckSchema } }
  }, async () => body)
}
