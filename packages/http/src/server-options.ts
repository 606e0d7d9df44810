import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify'
import type { LoggerOptions } from 'pino'

export const JSON_BODY_LIMIT = 1024 * 1024

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
}

/** Fastify options every Tessera service is created with. */
export type TesseraServerOptions = FastifyServerOptions & { loggerInstance?: FastifyBaseLogger }

export function serverOptions (settings: ServerSettings): TesseraServerOptions {
  const logging = settings.loggerInstance !== undefined
    ? { loggerInstance: settings.loggerInstance }
    : { logger: settings.logger ?? loggerOptions(settings) }
  return {
    ...logging,
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
