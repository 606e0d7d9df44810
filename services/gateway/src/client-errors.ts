import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { createClientErrorHandler, replyWithEnvelope } from '@tessera/http'
import { GatewayErrors } from './errors.js'

/** Node's answer to a request it could not parse, in the envelope, with the gateway's codes. */
export const clientErrorHandler = createClientErrorHandler({
  RequestTimeout: GatewayErrors.RequestTimeout,
  HeadersTooLarge: GatewayErrors.HeadersTooLarge,
  Malformed: GatewayErrors.MalformedRequest
})

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
  replyWithEnvelope(known ? new GatewayErrors.BadPath() : error, request, reply)
}

/** The envelope for a route added before httpConventions set the root error handler. */
export async function envelopeErrorHandler (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<FastifyReply> {
  return replyWithEnvelope(error, request, reply)
}
