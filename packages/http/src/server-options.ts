import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import {
  LogController, type FastifyBaseLogger, type FastifyHttpOptions, type FastifyServerOptions
} from 'fastify'
import type { LoggerOptions } from 'pino'
import { clientErrorHandler } from './client-errors.js'
import { frameworkErrorHandler } from './conventions.js'
import { DEFAULT_REQUEST_TIMEOUT_MS, JSON_BODY_LIMIT } from './limits.js'

export { DEFAULT_REQUEST_TIMEOUT_MS, JSON_BODY_LIMIT }

const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/

/** Keeps a caller's `x-request-id` only when it is a short token; anything else gets a fresh id. */
export function requestIdFrom (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID()
}

const redactPaths = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
  'password',
  'token'
]

const loggedHeaders = ['host', 'user-agent', 'content-type', 'content-length', 'x-forwarded-for']

export interface LoggerSettings {
  level: string
  service: string
}

/** pino options: JSON lines, the service name on each, headers by allowlist, secrets redacted. */
export function loggerOptions ({ level, service }: LoggerSettings): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      req (req: { method: string, url: string, headers?: Record<string, unknown>, ip?: string }) {
        const headers: Record<string, unknown> = {}
        for (const name of loggedHeaders) {
          if (req.headers?.[name] !== undefined) headers[name] = req.headers[name]
        }
        return { method: req.method, url: req.url, remoteAddress: req.ip, headers }
      }
    }
  }
}

export interface ServerSettings extends LoggerSettings {
  /** A pino instance or options to use instead of `loggerOptions` (tests pass `false`). */
  logger?: FastifyServerOptions['logger'] | false
  /** A ready logger (e.g. one pino shared by the embedded stack); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger
  bodyLimit?: number
  trustProxy?: FastifyServerOptions['trustProxy']
  /** How long a client may take to send a whole request, body included, in ms. */
  requestTimeoutMs?: number
}

/**
 * Node's http server options that make `requestTimeout` hold. Node looks for expired requests
 * only every `connectionsCheckingInterval` (30 s by default, whatever the limit), and not at all
 * while a headers timeout longer than the limit runs (60 s by default). Without a Host header
 * Node answers 400 with no body itself; httpConventions refuses such a request in the envelope.
 */
function httpOptions (requestTimeoutMs: number) {
  return {
    requireHostHeader: false,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.ceil(requestTimeoutMs / 4))),
    headersTimeout: Math.min(60_000, requestTimeoutMs)
  }
}

/** Fastify options every Tessera service is created with: a bounded request time included. */
export type TesseraServerOptions = FastifyHttpOptions<Server> & { loggerInstance?: FastifyBaseLogger }

export function serverOptions (settings: ServerSettings): TesseraServerOptions {
  const logging = settings.loggerInstance !== undefined
    ? { loggerInstance: settings.loggerInstance }
    : { logger: settings.logger ?? loggerOptions(settings) }
  const requestTimeoutMs = settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  return {
    ...logging,
    requestTimeout: requestTimeoutMs,
    http: httpOptions(requestTimeoutMs),
    // Node's and the router's own refusals in the envelope too, not in Fastify's default bodies.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    genReqId: requestIdFrom,
    requestIdHeader: false,
    // Fastify's own request lines are off: httpConventions logs one line per response instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: settings.bodyLimit ?? JSON_BODY_LIMIT,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    trustProxy: settings.trustProxy ?? false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: {
      customOptions: {
        // Strict bodies: a wrong type is an error, not silently coerced; unknown keys fail, not dropped.
        coerceTypes: false,
        removeAdditional: false,
        // All errors, so a 422 names every bad field at once; bodies are capped at 1 MiB.
        allErrors: true,
        useDefaults: true
      }
    }
  }
}
