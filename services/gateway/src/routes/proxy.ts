import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify'
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
}

// OPTIONS stays with the gateway: it answers CORS preflights itself.
const methods: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** Every public path of the services. The specific entries add a rate limit or the upload timeout. */
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
        forward(request, reply, { upstream, timeoutMs, observe })
        return reply
      }
    })
  }
}
