import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance } from 'fastify'
import { HttpErrors } from './errors.js'

type ErrorClass = new () => FastifyError

/** The errors a service answers with when Node cannot parse a request. */
export interface ClientErrorClasses {
  RequestTimeout: ErrorClass
  HeadersTooLarge: ErrorClass
  Malformed: ErrorClass
}

export type ClientErrorHandler = (this: FastifyInstance, err: Error & { code?: string }, socket: Socket) => void

/**
 * Builds a handler for Node's `clientError` (the Fastify option `clientErrorHandler`) that
 * answers in the error envelope rather than with Fastify's default body, and closes the
 * connection, which cannot be trusted afterwards.
 */
export function createClientErrorHandler (errors: ClientErrorClasses): ClientErrorHandler {
  const errorFor = (code: string | undefined) => {
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new errors.RequestTimeout()
    if (code === 'HPE_HEADER_OVERFLOW') return new errors.HeadersTooLarge()
    return new errors.Malformed()
  }

  return function clientErrorHandler (err, socket) {
    // Node answers only when no response has begun on the socket: one more would corrupt it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
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
}

/** Node's clientError in the envelope, with the HTTP_* codes. */
export const clientErrorHandler: ClientErrorHandler = createClientErrorHandler({
  RequestTimeout: HttpErrors.RequestTimeout,
  HeadersTooLarge: HttpErrors.HeadersTooLarge,
  Malformed: HttpErrors.MalformedRequest
})
