import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import FindMyWay, { type HTTPVersion } from 'find-my-way'
import { parse as parseJson } from 'secure-json-parse'
import { HttpErrors, ValidationFailedError } from './errors.js'
import { JSON_BODY_LIMIT } from './limits.js'
import { describeValidation } from './validation.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Stable name of the route for logs and metrics, e.g. `profile.update`. */
    operation?: string
  }
}

/** Codes whose 5xx messages are written by us and safe to show; anything else gets the generic text. */
const ownPrefixes = /^(HTTP|PROFILE|MEDIA|GATEWAY|SESSION|GUARD|METRICS)_/

interface Envelope {
  statusCode: number
  body: { error: string | Record<string, string>, code: string }
}

/** The envelope for `err`; `bodyLimit` is the limit of the route that refused a body, for its 413. */
export function toEnvelope (err: FastifyError, bodyLimit = JSON_BODY_LIMIT): Envelope {
  if (err instanceof ValidationFailedError) {
    return { statusCode: 422, body: { error: err.fields, code: err.code } }
  }
  if (err.validation !== undefined) return describeValidation(err.validation, err.validationContext)

  const mapped = mapFrameworkError(err, bodyLimit)
  if (mapped !== undefined) return envelopeOf(mapped)

  const statusCode = err.statusCode ?? 500
  const own = typeof err.code === 'string' && ownPrefixes.test(err.code)
  if (statusCode >= 400 && statusCode < 500) {
    // A plugin's or the framework's code is not part of the contract: the message still helps.
    return { statusCode, body: { error: err.message, code: own ? err.code : 'HTTP_CLIENT_ERROR' } }
  }
  if (statusCode >= 500 && statusCode < 600 && own) {
    return { statusCode, body: { error: err.message, code: err.code } }
  }
  return envelopeOf(new HttpErrors.Internal())
}

/**
 * Whether `body` (parsed JSON) is an error envelope of ours: `error` a message or a field map,
 * `code` one of our codes, nothing else.
 */
export function isErrorEnvelope (body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const { error, code, ...rest } = body as Record<string, unknown>
  if (Object.keys(rest).length > 0 || typeof code !== 'string' || !ownPrefixes.test(code)) return false
  if (typeof error === 'string') return true
  return typeof error === 'object' && error !== null && !Array.isArray(error) &&
    Object.values(error).every((message) => typeof message === 'string')
}

function envelopeOf (err: FastifyError): Envelope {
  return { statusCode: err.statusCode ?? 500, body: { error: err.message, code: err.code } }
}

function mapFrameworkError (err: FastifyError, bodyLimit: number): FastifyError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpErrors.UnsupportedMediaType('unsupported content type')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpErrors.PayloadTooLarge(String(bodyLimit))
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpErrors.BadRequest('body must not be empty')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpErrors.BadRequest('content-length does not match the body')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpErrors.InvalidJson()
    case 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE':
      // Only QUERY needs one (RFC 10008 section 2), even without a body.
      return new HttpErrors.BadRequest('a QUERY request must carry a Content-Type header')
    case 'FST_ERR_BAD_URL':
      return new HttpErrors.BadPath()
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HttpErrors.UriTooLong()
  }
  return undefined
}

function logFailure (request: FastifyRequest, err: FastifyError, statusCode: number): void {
  if (statusCode >= 500) {
    request.log.error({ err, statusCode }, 'request failed')
  } else {
    request.log.info({ statusCode, code: err.code, reason: err.message }, 'request rejected')
  }
}

/** Which forbidden key secure-json-parse found: it says only that there was one. */
function poisonKey (text: string): string {
  return /"__proto__"\s*:/.test(text) ? '__proto__' : 'constructor'
}

type Router = ReturnType<typeof FindMyWay<HTTPVersion.V1>>

function methodsFor (router: Router, methods: Set<string>, path: string): string[] {
  const allowed: string[] = []
  for (const method of methods) {
    if (router.find(method as 'GET', path) !== null) allowed.push(method)
  }
  return allowed.sort()
}

async function conventions (app: FastifyInstance): Promise<void> {
  // A shadow router of every route's path tells a 404 (no such path) from a 405 (wrong method).
  const router = FindMyWay({ ignoreTrailingSlash: true })
  const methods = new Set<string>()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      methods.add(method)
      if (!router.hasRoute(method as 'GET', route.url)) router.on(method as 'GET', route.url, () => {})
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)

    // RFC 9112 section 3.2: a 400 for HTTP/1.1 without Host; serverOptions leaves that to us.
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      reply.header('connection', 'close')
      throw new HttpErrors.MissingHost()
    }
  })

  // JSON is the only body a Tessera route takes unless it registers its own parser.
  app.removeContentTypeParser('text/plain')

  // Our own JSON parser only to name prototype-poisoning keys as the unknown keys they are.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string
    if (text.length === 0) return done(new HttpErrors.BadRequest('body must not be empty'), undefined)
    try {
      done(null, parseJson(text, { protoAction: 'error', constructorAction: 'error' }))
    } catch (err) {
      const poisoned = err instanceof SyntaxError && /prototype/.test(err.message)
      done(poisoned ? new HttpErrors.UnknownKey(poisonKey(text)) : new HttpErrors.InvalidJson(), undefined)
    }
  })

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const statusCode = reply.statusCode
    const fields = {
      operation: request.routeOptions.config.operation,
      method: request.method,
      url: request.url.split('?')[0],
      statusCode,
      responseTime: Math.round(reply.elapsedTime * 1000) / 1000
    }
    if (statusCode >= 500) request.log.error(fields, 'request completed')
    else request.log.info(fields, 'request completed')
  })

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const { statusCode, body } = toEnvelope(err, request.routeOptions.bodyLimit)
    logFailure(request, err, statusCode)
    return reply.code(statusCode).type('application/json; charset=utf-8').send(body)
  })

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = methodsFor(router, methods, path)
    const err = allowed.length > 0
      ? new HttpErrors.MethodNotAllowed(request.method)
      : new HttpErrors.NotFound()
    if (allowed.length > 0) reply.header('allow', allowed.join(', '))

    const { statusCode, body } = toEnvelope(err)
    logFailure(request, err, statusCode)
    return reply.code(statusCode).send(body)
  })
}

/**
 * Sends `error` in the envelope, logged as the root error handler does: for answers given outside
 * a route's lifecycle (framework errors, routes added before httpConventions).
 */
export function replyWithEnvelope (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { statusCode, body } = toEnvelope(error)
  logFailure(request, error, statusCode)

  return reply.code(statusCode)
    .header('x-request-id', request.id)
    .type('application/json; charset=utf-8')
    .send(body)
}

/**
 * Fastify's `frameworkErrors` option: what the router refuses before any route (a bad percent
 * escape, an over-long path parameter) in the envelope, with HTTP_* codes.
 */
export function frameworkErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  replyWithEnvelope(error, request, reply)
}

/** Error envelope, 404/405, request ids and one log line per response, for the whole app. */
export const httpConventions = fp(conventions, { name: '@tessera/http-conventions', fastify: '5.x' })
