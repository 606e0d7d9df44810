import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from '@sinclair/typebox'
import { requireSuperuser } from '@tessera/guards'
import { errorResponses } from '@tessera/http'
import type { SessionEvents } from '@tessera/session'
import { createPrometheus, registerRouteMetrics } from './prometheus.js'
import { createSnapshotCounters } from './snapshot.js'

export interface MetricsOptions {
  service: string
  version: string
  /** Port of the Prometheus listener, opened when the app listens; undefined: none. */
  port?: number
  host?: string
  /** Pool figures for the snapshot's `database` key. */
  database?: () => Record<string, number>
  /** Serve the superuser JSON snapshot at `/metrics/` (the gateway serves its own aggregate). */
  jsonRoute?: boolean
}

export const SnapshotSchema = Type.Object({
  version: Type.String(),
  timestamp: Type.Integer(),
  goroutines: Type.Integer(),
  database: Type.Record(Type.String(), Type.Number()),
  memstats: Type.Record(Type.String(), Type.Number()),
  total_requests_received: Type.Integer(),
  total_responses_sent: Type.Integer(),
  total_processing_time_μs: Type.Integer(),
  total_responses_sent_by_status: Type.Record(Type.String(), Type.Integer()),
  cmdline: Type.Array(Type.String())
}, { additionalProperties: true })

function createMetrics (opts: MetricsOptions) {
  const prometheus = createPrometheus(opts.service)
  const counters = createSnapshotCounters()

  // Extends the Prometheus state in place: its `url` is set later, when the listener starts.
  return Object.assign(prometheus, {
    counters,
    snapshot: () => counters.snapshot(opts.version, opts.database?.() ?? {})
  })
}

/**
 * Session events that count into this app's Prometheus counters. The closures read
 * `app.tesseraMetrics` when they fire, so sessions may be registered before the metrics plugin.
 */
export function sessionCounters (app: FastifyInstance): SessionEvents {
  return {
    created: () => app.tesseraMetrics.sessionsCreated.inc(),
    destroyed: (count) => app.tesseraMetrics.sessionsDestroyed.inc(count)
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    tesseraMetrics: ReturnType<typeof createMetrics>
  }
}

async function metrics (app: FastifyInstance, opts: MetricsOptions): Promise<void> {
  const state = createMetrics(opts)
  app.decorate('tesseraMetrics', state)
  state.counters.install(app)
  await registerRouteMetrics(app, state.registry)

  if (opts.port !== undefined) {
    const port = opts.port
    app.addHook('onListen', async () => {
      const url = await state.listen(port, opts.host ?? '127.0.0.1')
      app.log.info({ url }, 'prometheus metrics listening')
    })
  }
  app.addHook('onClose', async () => { await state.close() })

  if (opts.jsonRoute !== false) {
    await app.register(async (scope) => {
      scope.addHook('onRequest', requireSuperuser)
      scope.get('/metrics/', {
        config: { operation: `${opts.service}.metrics` },
        schema: { hide: true, response: { 200: SnapshotSchema, ...errorResponses } }
      }, async () => state.snapshot())
    })
  }
}

/**
 * Prometheus route metrics on a separate listener, session counters, and the superuser JSON
 * snapshot at `/metrics/`. Needs the session plugin registered first.
 */
export const metricsPlugin = fp(metrics, {
  name: '@tessera/metrics',
  fastify: '5.x',
  dependencies: ['@tessera/session-auth']
})
