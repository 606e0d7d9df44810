import createError from '@fastify/error'

export const SessionErrors = {
  Required: createError('SESSION_REQUIRED', 'you must be authenticated to access this resource', 401),
  StoreUnavailable: createError('SESSION_STORE_UNAVAILABLE', 'sessions are temporarily unavailable', 503)
}

export const sessionErrorDocs: Record<string, string> = {
  SESSION_REQUIRED: 'No session cookie, or one that is malformed, unknown, expired or revoked.',
  SESSION_STORE_UNAVAILABLE: 'The session store (Redis) did not answer; nothing was decided.'
}
