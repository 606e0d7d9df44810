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
  HTTP_INTERNAL: 'Unexpected server failure; details are in the log only.',
  HTTP_UNAVAILABLE: 'A dependency is down; try again later.',
  HTTP_VALIDATION_FAILED: 'Field validation failed; `error` maps each field to a message.'
}
