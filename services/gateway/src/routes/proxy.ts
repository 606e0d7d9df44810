import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { JSON_BODY_LIMIT } from '@tessera/http'
import { Histogram } from 'prom-client'
import type { GatewayConfig } from '../config.js'
import { GatewayErrors } from '../errors.js'
import { abandonExchange, forward } from '../proxy/forward.js'
import { upstreamFailure } from '../proxy/failures.js'
import { isForwardablePath } from '../proxy/path.js'
import type { Upstreams } from '../upstreams.js'

type Limit = 'login' | 'account' | 'password' | 'upload'

interface ProxyRoute {
  method: HTTPMethods | HTTPMethods[]
  url: string
  to: keyof Upstreams
  operation: string
  limit?: Limit
  /** Uploads answer only once the file is stored: the longer timeout, and a per-user limit. */
  upload?: true
  /** Largest body forwarded, in bytes; uploads have MAX_UPLOAD_BODY_BYTES. Default: JSON's. */
  bodyLimit?: number
}

// Every method Fastify routes: a service answers those it does not serve with its own 405 and
// Allow. CORS preflights from allowed origins are still answered by the gateway, in its hook.
const methods: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY']

/** Media's bound on a urlencoded delete body; a thumbnail URL is far shorter. */
const DELETE_BODY_LIMIT = 16 * 1024

/** Every public path of the services. The specific entries add a rate limit, a timeout or a body bound. */
const routes: ProxyRoute[] = [
  { method: 'POST', url: '/users/login/', to: 'profile', limit: 'login', operation: 'gateway.login' },
  { method: 'POST', url: '/users/register/', to: 'profile', limit: 'account', operation: 'gateway.register' },
  { method: 'POST', url: '/users/regenerate-token/', to: 'profile', limit: 'account', operation: 'gateway.token' },
  { method: 'PUT', url: '/users/activate/*', to: 'profile', limit: 'account', operation: 'gateway.activate' },
  { method: 'POST', url: '/users/password/*', to: 'profile', limit: 'password', operation: 'gateway.password' },
  {
    method: 'PUT',
    url: '/users/password/change-user-password/*',
    to: 'profile',
    limit: 'password',
    operation: 'gateway.password'
  },
  { method: 'POST', url: '/file/upload/', to: 'media', limit: 'upload', upload: true, operation: 'gateway.upload' },
  { method: 'DELETE', url: '/file/delete/', to: 'media', bodyLimit: DELETE_BODY_LIMIT, operation: 'gateway.delete' },
  { method: methods, url: '/users/*', to: 'profile', operation: 'gateway.profile' },
  { method: methods, url: '/file/*', to: 'media', operation: 'gateway.media' }
]

export interface ProxyRoutesOptions {
  config: GatewayConfig
  upstreams: Upstreams
}

const byUser = (request: FastifyRequest): string =>
  request.session === null ? `ip:${request.ip}` : `user:${request.session.userId}`

export async function proxyRoutes (app: FastifyInstance, opts: ProxyRoutesOptions): Promise<void> {
  const { config, upstreams } = opts

  const limits: Record<Limit, number> = {
    login: config.LOGIN_RATE_LIMIT,
    account: config.ACCOUNT_RATE_LIMIT,
    password: config.PASSWORD_RATE_LIMIT,
    upload: config.UPLOAD_RATE_LIMIT
  }
  const rateLimitOf = (limit: Limit | undefined) => limit === undefined
    ? undefined
    : {
        max: limits[limit],
        timeWindow: config.RATE_LIMIT_WINDOW * 1000,
        ...(limit === 'upload' ? { keyGenerator: byUser } : {})
      }

  const duration = new Histogram({
    name: 'tessera_proxy_duration_seconds',
    help: 'Time from forwarding a request to the end of the upstream response, by upstream and status',
    labelNames: ['upstream', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [app.tesseraMetrics.registry]
  })
  const observe = (upstream: string, status: number, seconds: number): void => {
    duration.observe({ upstream, status: String(status) }, seconds)
  }

  // Bodies pass through as streams: nothing is parsed, buffered or size-checked here, the services
  // do that. This scope has no other parser, so the strict JSON parser never sees proxied bodies.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })

  // A failure while forwarding becomes the gateway's own error; the root handler writes the envelope.
  app.setErrorHandler(async (err, request, reply) => {
    throw abandonExchange(request, reply) ? upstreamFailure(err) : err
  })

  for (const route of routes) {
    const upstream = upstreams[route.to]
    const timeoutMs = route.upload === true ? config.UPLOAD_TIMEOUT_MS : config.UPSTREAM_TIMEOUT_MS
    const bodyLimit = route.upload === true ? config.MAX_UPLOAD_BODY_BYTES : route.bodyLimit ?? JSON_BODY_LIMIT
    const rateLimit = rateLimitOf(route.limit)

    app.route({
      method: route.method,
      url: route.url,
      config: {
        operation: route.operation,
        ...(route.upload === true ? { session: true } : {}),
        ...(rateLimit === undefined ? {} : { rateLimit })
      },
      schema: { hide: true },
      handler: async (request, reply) => {
        if (!isForwardablePath(request.url)) throw new GatewayErrors.BadPath()
        refuseDeclaredOversize(request, reply, bodyLimit)
        forward(request, reply, { upstream, timeoutMs, bodyLimit, observe })
        return reply
      }
    })
  }

  // Methods Fastify does not route at all (PROPFIND, SEARCH...) under a service's prefix go to
  // that service too, for its own 404 or 405.
  for (const [prefix, to] of [['/users', 'profile'], ['/file', 'media']] as const) {
    await app.register(async (scope) => {
      scope.setNotFoundHandler(async (request, reply) => {
        if (!isForwardablePath(request.url)) throw new GatewayErrors.BadPath()
        refuseDeclaredOversize(request, reply, JSON_BODY_LIMIT)
        const timeoutMs = config.UPSTREAM_TIMEOUT_MS
        forward(request, reply, { upstream: upstreams[to], timeoutMs, bodyLimit: JSON_BODY_LIMIT, observe })
        return reply
      })
    }, { prefix })
  }
}

/**
 * A body whose Content-Length is over the route's bound is refused before anything is forwarded,
 * rather than streamed to a service that would refuse it too, early, while the gateway is still
 * writing it. The unread rest is not worth draining.
 */
function refuseDeclaredOversize (request: FastifyRequest, reply: FastifyReply, bodyLimit: number): void {
  if (!(Number(request.headers['content-length']) > bodyLimit)) return

  reply.header('connection', 'close')
  throw new GatewayErrors.PayloadTooLarge(bodyLimit)
}
