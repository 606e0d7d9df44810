import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { toEnvelope } from '@tessera/http'
import { GatewayErrors } from './errors.js'

function errorFor (code: string | undefined) {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new GatewayErrors.RequestTimeout()
  if (code === 'HPE_HEADER_OVERFLOW') return new GatewayErrors.HeadersTooLarge()
  return new GatewayErrors.MalformedRequest()
}

/**
 * Node's answer to a request it could not parse, in the error envelope rather than Fastify's
 * default body. The connection cannot be trusted afterwards, so it is closed.
 */
export function clientErrorHandler (
  this: FastifyInstance,
  err: Error & { code?: string },
  socket: Socket
): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }

  const error = errorFor(err.code)
  const status = error.statusCode ?? 400
  const body = JSON.stringify({ error: error.message, code: error.code })
  this.log.info({ statusCode: status, code: error.code, reason: err.message }, 'request rejected')

  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`)
}

function sendEnvelope (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { statusCode, body } = toEnvelope(error)
  if (statusCode >= 500) request.log.error({ err: error, statusCode }, 'request failed')
  else request.log.info({ statusCode, code: body.code, reason: error.message }, 'request rejected')

  return reply.code(statusCode)
    .header('x-request-id', request.id)
    .type('application/json; charset=utf-8')
    .send(body)
}

/**
 * Fastify's answer to a URL its router cannot decode (`/users/%zz`), in the error envelope. Such a
 * path is never forwarded.
 */
export function frameworkErrorHandler (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply
): void {
  const known = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
  sendEnvelope(known ? new GatewayErrors.BadPath() : error, request, reply)
}

/** The envelope for a route added before httpConventions set the root error handler. */
export async function envelopeErrorHandler (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<FastifyReply> {
  return sendEnvelope(error, request, reply)
}
