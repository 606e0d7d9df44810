import createError from '@fastify/error'

/** The gateway's own errors; 502-504 are how a failing service looks to the client. */
export const GatewayErrors = {
  UpstreamUnavailable: createError('GATEWAY_UPSTREAM_UNAVAILABLE',
    'the service is temporarily unavailable, please try again later', 503),
  UpstreamTimeout: createError('GATEWAY_UPSTREAM_TIMEOUT', 'the service did not respond in time', 504),
  BadGateway: createError('GATEWAY_BAD_GATEWAY', 'the service sent an invalid response', 502),
  RateLimited: createError('GATEWAY_RATE_LIMITED', 'rate limit exceeded, retry in %s seconds', 429),
  BadPath: createError('GATEWAY_BAD_PATH', 'the request path is malformed', 400),
  MalformedRequest: createError('GATEWAY_MALFORMED_REQUEST', 'the request is malformed', 400),
  RequestTimeout: createError('GATEWAY_REQUEST_TIMEOUT', 'the request was not received in time', 408),
  HeadersTooLarge: createError('GATEWAY_HEADERS_TOO_LARGE', 'the request headers are too large', 431),
  PayloadTooLarge: createError('GATEWAY_PAYLOAD_TOO_LARGE', 'body must not be larger than %s bytes', 413),
  /** A service's 4xx that came without our error envelope; its status is set on the instance. */
  UpstreamRejected: createError('GATEWAY_UPSTREAM_REJECTED', 'the service refused the request: %s', 400)
}

/** Documentation of every code in {@link GatewayErrors}; a test keeps it complete. */
export const gatewayErrorDocs: Record<string, string> = {
  GATEWAY_UPSTREAM_UNAVAILABLE: 'No replica of the service accepted the connection. Nothing was ' +
    'forwarded; safe to retry.',
  GATEWAY_UPSTREAM_TIMEOUT: 'The service did not send its response headers within the route timeout, ' +
    'or paused too long in its body. The request may have been processed.',
  GATEWAY_BAD_GATEWAY: 'The service reset the connection or sent something that is not HTTP. The ' +
    'request may have been processed. When the response had already started, the connection is ' +
    'closed instead.',
  GATEWAY_RATE_LIMITED: 'Too many requests from this address (login, registration, token and ' +
    'password routes) or this user (uploads); `Retry-After` gives the seconds to wait.',
  GATEWAY_BAD_PATH: 'The path holds dot segments, empty segments, encoded slashes or bad percent ' +
    'escapes, or is not in origin form. It was not forwarded.',
  GATEWAY_MALFORMED_REQUEST: 'The request could not be parsed as HTTP/1.1; the connection is closed.',
  GATEWAY_REQUEST_TIMEOUT: 'The request was not received completely in time; the connection is closed.',
  GATEWAY_HEADERS_TOO_LARGE: 'The request line and headers are over the server limit; the connection ' +
    'is closed.',
  GATEWAY_PAYLOAD_TOO_LARGE: 'The body is over the bound of its route (JSON routes 1 MiB, the upload ' +
    'MAX_UPLOAD_BODY_BYTES, the delete 16 KiB), by its Content-Length before it was forwarded, or while ' +
    'it streamed. Nothing was stored.',
  GATEWAY_UPSTREAM_REJECTED: 'The service refused the request with a 4xx whose body was not an error ' +
    'envelope; the status is the service\'s, the message its standard reason.'
}
