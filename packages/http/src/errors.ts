import createError from '@fastify/error'

/**
 * Errors shared by every service. Each package keeps its own catalogue built the same way,
 * with codes prefixed by the package name.
 */
export const HttpErrors = {
  BadRequest: createError('HTTP_BAD_REQUEST', '%s', 400),
  UnknownKey: createError('HTTP_UNKNOWN_KEY', 'body contains unknown key "%s"', 400),
  InvalidJson: createError('HTTP_INVALID_JSON', 'body contains badly-formed JSON', 400),
  NotFound: createError('HTTP_NOT_FOUND', 'the requested resource could not be found', 404),
  MethodNotAllowed: createError('HTTP_METHOD_NOT_ALLOWED', 'the %s method is not supported for this resource', 405),
  PayloadTooLarge: createError('HTTP_PAYLOAD_TOO_LARGE', 'body must not be larger than %s bytes', 413),
  UnsupportedMediaType: createError('HTTP_UNSUPPORTED_MEDIA_TYPE', '%s', 415),
  TooManyRequests: createError('HTTP_TOO_MANY_REQUESTS', 'rate limit exceeded, retry in %s seconds', 429),
  BadPath: createError('HTTP_BAD_PATH', 'the request path is malformed', 400),
  MissingHost: createError('HTTP_MISSING_HOST', 'the request must carry a Host header', 400),
  MalformedRequest: createError('HTTP_MALFORMED_REQUEST', 'the request is malformed', 400),
  RequestTimeout: createError('HTTP_REQUEST_TIMEOUT', 'the request was not received in time', 408),
  UriTooLong: createError('HTTP_URI_TOO_LONG', 'the request path is too long', 414),
  HeadersTooLarge: createError('HTTP_HEADERS_TOO_LARGE', 'the request headers are too large', 431),
  /** Any other 4xx of the framework or a plugin; its status is set on the instance. */
  ClientError: createError('HTTP_CLIENT_ERROR', '%s', 400),
  Internal: createError('HTTP_INTERNAL', 'the server encountered a problem and could not process your request', 500),
  Unavailable: createError('HTTP_UNAVAILABLE', 'the service is temporarily unavailable', 503)
}

/** A 422 whose `error` is a map of field name to message. */
export class ValidationFailedError extends Error {
  readonly statusCode = 422
  readonly code: string
  readonly fields: Record<string, string>

  constructor (fields: Record<string, string>, code = 'HTTP_VALIDATION_FAILED') {
    super('validation failed: ' + Object.keys(fields).join(', '))
    this.name = 'ValidationFailedError'
    this.code = code
    this.fields = fields
  }
}

export function validationFailed (fields: Record<string, string>, code?: string): ValidationFailedError {
  return new ValidationFailedError(fields, code)
}

/** Documentation of every code in this catalogue; a test keeps it complete. */
export const httpErrorDocs: Record<string, string> = {
  HTTP_BAD_REQUEST: 'The request is malformed: wrong types, missing fields, bad parameters.',
  HTTP_UNKNOWN_KEY: 'A JSON body carried a key the route does not accept.',
  HTTP_INVALID_JSON: 'A JSON body could not be parsed, or held more than one value.',
  HTTP_NOT_FOUND: 'No route or resource matches the request.',
  HTTP_METHOD_NOT_ALLOWED: 'The path exists but not for this method; `Allow` lists the methods.',
  HTTP_PAYLOAD_TOO_LARGE: 'The body is over the route limit.',
  HTTP_UNSUPPORTED_MEDIA_TYPE: 'The body has a content type the route does not accept.',
  HTTP_TOO_MANY_REQUESTS: 'Rate limited; `Retry-After` says when to try again.',
  HTTP_BAD_PATH: 'The path holds a bad percent escape; no route was looked up.',
  HTTP_MISSING_HOST: 'An HTTP/1.1 request without a Host header; the connection is closed.',
  HTTP_MALFORMED_REQUEST: 'The request could not be parsed as HTTP/1.1; the connection is closed.',
  HTTP_REQUEST_TIMEOUT: 'The request, body included, was not received in time; the connection is closed.',
  HTTP_URI_TOO_LONG: 'A path parameter is longer than the router accepts.',
  HTTP_HEADERS_TOO_LARGE: 'The request line and headers are over the server limit; the connection is closed.',
  HTTP_CLIENT_ERROR: 'Another 4xx raised by the framework or a plugin; `error` says what was wrong.',
  HTTP_INTERNAL: 'Unexpected server failure; details are in the log only.',
  HTTP_UNAVAILABLE: 'A dependency is down; try again later.',
  HTTP_VALIDATION_FAILED: 'Field validation failed; `error` maps each field to a message.'
}
