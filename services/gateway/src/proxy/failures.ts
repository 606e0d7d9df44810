import { STATUS_CODES } from 'node:http'
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

/** The gateway's own error that `err` is or wraps (a body over its limit, failing the upload). */
function ownErrorIn (err: unknown, depth = 0): FastifyError | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined
  const { code, cause } = err as { code?: unknown, cause?: unknown }
  if (typeof code === 'string' && code.startsWith('GATEWAY_')) return err as FastifyError
  return ownErrorIn(cause, depth + 1)
}

export function isConnectionRefused (err: unknown): boolean {
  return codesOf(err).includes('ECONNREFUSED')
}

/** How a failed exchange with a service looks to the client: 503, 504 or 502. */
export function upstreamFailure (err: unknown): FastifyError {
  const own = err as Partial<FastifyError>
  const ours = ownErrorIn(err)
  if (ours !== undefined) return ours
  // reply-from refuses, before sending anything, a target that holds `/..` or `../` once decoded
  // (a `..;` segment, an encoded `../` in the query): the client's request is at fault.
  if (own.statusCode === 400 && own.code === undefined) return new GatewayErrors.BadPath({ cause: err })

  const codes = codesOf(err)
  if (codes.some((code) => unavailable.has(code))) return new GatewayErrors.UpstreamUnavailable({ cause: err })
  if (codes.some((code) => timedOut.has(code))) return new GatewayErrors.UpstreamTimeout({ cause: err })
  return new GatewayErrors.BadGateway({ cause: err })
}

/**
 * The gateway's envelope for a service's error response that did not come in one: its own
 * meaning for 408, 431 and 503-504, the status with its standard reason for any other 4xx, and
 * 502 for any other 5xx, which the service should never have sent that way.
 */
export function replacementFor (status: number): FastifyError {
  switch (status) {
    case 408: return new GatewayErrors.RequestTimeout()
    case 431: return new GatewayErrors.HeadersTooLarge()
    case 503: return new GatewayErrors.UpstreamUnavailable()
    case 504: return new GatewayErrors.UpstreamTimeout()
  }
  if (status >= 500) return new GatewayErrors.BadGateway()

  const rejected: FastifyError = new GatewayErrors.UpstreamRejected((STATUS_CODES[status] ?? 'error').toLowerCase())
  rejected.statusCode = status
  return rejected
}
