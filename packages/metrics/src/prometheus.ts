import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import metricsModule from 'fastify-metrics'
import client, { Counter, Registry } from 'prom-client'

/** The label every request that matched no route shares, so unknown paths cannot grow cardinality. */
export const UNMATCHED_ROUTE = '__unmatched__'

function routeLabel (request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED_ROUTE
}

export function createPrometheus (service: string) {
  const registry = new Registry()
  registry.setDefaultLabels({ service })

  const sessionsCreated = new Counter({
    name: 'tessera_sessions_created_total',
    help: 'Sessions created at login',
    registers: [registry]
  })
  const sessionsDestroyed = new Counter({
    name: 'tessera_sessions_destroyed_total',
    help: 'Sessions destroyed by logout, login rotation or revocation',
    registers: [registry]
  })

  let server: Server | undefined

  const state = {
    /** Set once the listener is up. */
    url: undefined as string | undefined,
    registry,
    sessionsCreated,
    sessionsDestroyed,

    /** The exposition text, as served on the metrics port. */
    async text (): Promise<string> {
      return await registry.metrics()
    },

    /** Serves `GET /metrics` on its own port, outside the app and never routed by the gateway. */
    async listen (port: number, host: string): Promise<string> {
      server = createServer((req, res) => {
        if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
          return
        }
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n')
        )
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject).listen(port, host, resolve)
      })
      const address = server.address() as AddressInfo
      state.url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/metrics`
      return state.url
    },

    async close (): Promise<void> {
      if (server === undefined) return
      const closing = server
      server = undefined
      await new Promise<void>((resolve) => closing.close(() => resolve()))
    }
  }
  return state
}

/**
 * Route metrics through fastify-metrics into this app's own registry: the global prom-client registry
 * is never used, so several apps in one process keep their own counters.
 */
// A CommonJS module with `exports.default`: under Node's ESM loader the plugin sits one level down.
type MetricsPlugin = typeof metricsModule.default
const fastifyMetrics: MetricsPlugin = metricsModule.default ?? (metricsModule as unknown as MetricsPlugin)

export async function registerRouteMetrics (app: FastifyInstance, registry: Registry): Promise<void> {
  await app.register(fastifyMetrics, {
    endpoint: null,
    promClient: client,
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      registeredRoutesOnly: false,
      overrides: {
        labels: { getRouteLabel: routeLabel },
        histogram: { name: 'http_request_duration_seconds', registers: [registry] },
        // Disabled, but fastify-metrics still creates it: keep it off the global registry too.
        summary: { registers: [registry] }
      }
    }
  })
}
