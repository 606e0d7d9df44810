import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import replyFrom from '@fastify/reply-from'
import swagger from '@fastify/swagger'
import type { Redis } from 'ioredis'
import { healthRoutes, httpConventions, serverOptions, taskLifecycle, type HealthCheck } from '@tessera/http'
import { metricsPlugin } from '@tessera/metrics'
import {
  createMemorySessionStore, createRedisSessionStore, redisClientFor, type SessionStore
} from '@tessera/session'
import packageJson from '../package.json' with { type: 'json' }
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.js'
import { listOf, trustProxyOf, type GatewayConfig } from './config.js'
import { registerCors } from './cors.js'
import { GatewayErrors } from './errors.js'
import { createDocsCatalogue } from './openapi/catalogue.js'
import { upstreamConnector } from './proxy/upstream-socket.js'
import { docsRoutes } from './routes/docs.js'
import { healthcheckRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { proxyRoutes } from './routes/proxy.js'
import { registerSessions } from './sessions.js'
import { createInternalClient, createUpstream, type Upstream, type Upstreams } from './upstreams.js'

export { GatewayConfigSchema, type GatewayConfig } from './config.js'
export { GatewayErrors, gatewayErrorDocs } from './errors.js'

export const VERSION: string = packageJson.version

export interface GatewayDeps {
  /** Shared with the services; defaults to a Redis store on `redis`, else an in-process one. */
  sessionStore?: SessionStore
  /** Rate limits, sessions and readiness; its keyPrefix applies. Created from REDIS_URL if absent. */
  redis?: Redis
  logger?: FastifyServerOptions['logger'] | false
}

// The gateway's own calls (readiness, metrics, OpenAPI): a slow service must not hold them up.
const INTERNAL_TIMEOUT_MS = 2000

/** Readiness: Redis when there is one, and at least one replica of each service answering /livez. */
function readinessChecks (upstreams: Upstreams, check: (url: string) => Promise<void>, redis?: Redis) {
  const anyReplica = (upstream: Upstream): HealthCheck => async () =>
    await Promise.any(upstream.urls.map((url) => check(`${url}/livez`)))

  const checks: Record<string, HealthCheck> = {
    profile: anyReplica(upstreams.profile),
    media: anyReplica(upstreams.media)
  }
  if (redis !== undefined) checks.redis = async () => await redis.ping()
  return checks
}

/**
 * The public entry of Tessera: proxies `/users/*` to profile and `/file/*` to media, and serves
 * `/healthcheck/`, the aggregate `/metrics/` and `/docs`. Does not listen.
 */
export async function buildApp (config: GatewayConfig, deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...serverOptions({
      level: config.LOG_LEVEL,
      service: 'gateway',
      logger: deps.logger,
      trustProxy: trustProxyOf(config.TRUST_PROXY),
      // Bounds how long a client may take to send a whole request, uploads included.
      requestTimeoutMs: config.UPLOAD_TIMEOUT_MS
    }),
    // The shared handlers, with the gateway's own codes.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler
  })

  const { redis, owned } = redisClientFor(config, deps.redis)
  // Without a listener ioredis prints each failed reconnect to the console instead of the log.
  if (owned) redis?.on('error', (err) => app.log.error({ err }, 'redis connection failed'))
  const store = deps.sessionStore ?? (redis === undefined
    ? createMemorySessionStore({ ttlSeconds: config.SESSION_TTL })
    : createRedisSessionStore({ redis, ttlSeconds: config.SESSION_TTL }))
  const upstreams: Upstreams = {
    profile: createUpstream('profile', listOf(config.PROFILE_URL)),
    media: createUpstream('media', listOf(config.MEDIA_URL))
  }
  const client = createInternalClient(INTERNAL_TIMEOUT_MS)

  app.addHook('onClose', async () => {
    await client.close()
    if (deps.sessionStore === undefined) await store.close?.()
    if (owned) await redis?.quit()
  })

  try {
    // First: see registerCors for why it precedes httpConventions.
    await registerCors(app, listOf(config.CORS_ORIGINS))

    await app.register(httpConventions)
    await app.register(taskLifecycle)
    await app.register(swagger, {
      openapi: {
        info: { title: 'Tessera API', version: VERSION },
        components: {
          securitySchemes: { sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sessionid' } }
        }
      }
    })

    await registerSessions(app, { store, ttlSeconds: config.SESSION_TTL, cookieSecure: config.COOKIE_SECURE })
    await app.register(metricsPlugin, {
      service: 'gateway',
      version: VERSION,
      port: config.METRICS_PORT,
      host: config.HOST,
      jsonRoute: false
    })

    await app.register(rateLimit, {
      global: false,
      ...(redis === undefined ? {} : { redis, nameSpace: 'rate-limit:' }),
      // A Redis outage lets requests through: the services it also takes down answer for themselves.
      skipOnError: true,
      errorResponseBuilder: (_request, context) => new GatewayErrors.RateLimited(Math.ceil(context.ttl / 1000))
    })
    await app.register(replyFrom, {
      disableRequestLogging: true,
      disableCache: true,
      destroyAgent: true,
      undici: {
        connections: 128,
        pipelining: 1,
        // Keeps a response a service sent before reading the whole body (an early 413).
        connect: upstreamConnector({ timeout: config.UPSTREAM_TIMEOUT_MS })
      }
    })

    await app.register(healthRoutes, { checks: readinessChecks(upstreams, client.check, redis) })
    await app.register(healthcheckRoutes, { debug: config.DEBUG, version: VERSION })
    await app.register(metricsRoutes, { upstreams, client })
    await app.register(docsRoutes, {
      catalogue: createDocsCatalogue([
        { upstream: upstreams.profile, prefix: '/users/' },
        { upstream: upstreams.media, prefix: '/file/' }
      ], client, config.DOCS_CACHE_SECONDS * 1000)
    })
    await app.register(proxyRoutes, { config, upstreams })
  } catch (err) {
    await app.close().catch(() => {})
    throw err
  }

  return app
}
