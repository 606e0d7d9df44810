import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requireSuperuser } from '@tessera/guards'
import { errorResponses } from '@tessera/http'
import { AggregateMetricsSchema } from '../schemas/gateway.js'
import type { InternalClient, Upstream, Upstreams } from '../upstreams.js'

export interface MetricsRoutesOptions {
  upstreams: Upstreams
  client: InternalClient
}

/**
 * `GET /metrics/` for superusers: the gateway's own snapshot, plus each service's, fetched from its
 * own `/metrics/` with the caller's cookie. A service that fails to answer shows as null.
 */
export async function metricsRoutes (app: FastifyInstance, opts: MetricsRoutesOptions): Promise<void> {
  const snapshotOf = async (upstream: Upstream, request: FastifyRequest): Promise<unknown> => {
    const url = `${upstream.order()[0]}/metrics/`
    try {
      const headers: Record<string, string> = { 'x-request-id': request.id }
      if (request.headers.cookie !== undefined) headers.cookie = request.headers.cookie
      const snapshot = await opts.client.getJson(url, headers)
      return typeof snapshot === 'object' && snapshot !== null && !Array.isArray(snapshot) ? snapshot : null
    } catch (err) {
      request.log.warn({ err, upstream: upstream.name }, 'service metrics unavailable')
      return null
    }
  }

  app.addHook('onRequest', requireSuperuser)

  app.get('/metrics/', {
    config: { operation: 'gateway.metrics', session: true },
    schema: {
      tags: ['gateway'],
      security: [{ sessionCookie: [] }],
      response: { 200: AggregateMetricsSchema, ...errorResponses }
    }
  }, async (request) => {
    const own = app.tesseraMetrics.snapshot()
    const [profile, media] = await Promise.all([
      snapshotOf(opts.upstreams.profile, request),
      snapshotOf(opts.upstreams.media, request)
    ])
    return { ...own, services: { gateway: own, profile, media } }
  })
}
