import type { FastifyError } from 'fastify'
import { GatewayErrors } from '../errors.js'

// Nothing was sent: the replica is down or cannot be found.
const unavailable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

const timedOut = new Set([
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT'
])

/** The codes of an error and of everything it wraps (reply-from and undici nest them). */
function codesOf (err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 5) return []
  const { code, cause, errors } = err as { code?: unknown, cause?: unknown, errors?: unknown }

  const codes = typeof code === 'string' ? [code] : []
  codes.push(...codesOf(cause, depth + 1))
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...codesOf(inner, depth + 1))
  return codes
}

export function isConnectionRefused (err: unknown): boolean {
  return codesOf(err).includes('ECONNREFUSED')
}

/** How a failed exchange with a service looks to the client: 503, 504 or 502. */
export function upstreamFailure (err: unknown): FastifyError {
  const own = err as Partial<FastifyError>
  if (typeof own.code === 'string' && own.code.startsWith('GATEWAY_')) return err as FastifyError

  const codes = codesOf(err)
  if (codes.some((code) => unavailable.has(code))) return new GatewayErrors.UpstreamUnavailable({ cause: err })
  if (codes.some((code) => timedOut.has(code))) return new GatewayErrors.UpstreamTimeout({ cause: err })
  return new GatewayErrors.BadGateway({ cause: err })
}
