import createError from '@fastify/error'
import { validationFailed, type ValidationFailedError } from '@tessera/http'

/** The profile service's own errors; each carries its HTTP status. */
export const ProfileErrors = {
  InvalidCredentials: createError(
    'PROFILE_INVALID_CREDENTIALS', 'invalid authentication credentials', 401
  ),
  AccountInactive: createError(
    'PROFILE_ACCOUNT_INACTIVE', 'your user account must be activated to access this resource', 403
  ),
  UserNotFound: createError('PROFILE_USER_NOT_FOUND', 'the requested user could not be found', 404),
  EmailTaken: createError(
    'PROFILE_EMAIL_TAKEN', 'a user with this email address already exists', 409
  ),
  RateLimited: createError(
    'PROFILE_RATE_LIMITED', 'too many attempts for this address, retry in %s seconds', 429
  )
}

export const PROFILE_VALIDATION_FAILED = 'PROFILE_VALIDATION_FAILED'
export const PROFILE_INVALID_TOKEN = 'PROFILE_INVALID_TOKEN'

/** A 422 naming every bad field of a profile request. */
export function profileValidationFailed (fields: Record<string, string>): ValidationFailedError {
  return validationFailed(fields, PROFILE_VALIDATION_FAILED)
}

/**
 * A wrong, expired, used-up or unknown code. One message for all of them, as a 422 on the
 * `token` field: the code is a field of the form the user just submitted.
 */
export function invalidToken (): ValidationFailedError {
  return validationFailed({ token: 'invalid or expired token' }, PROFILE_INVALID_TOKEN)
}

/** Documentation of every code above; a test keeps it complete. */
export const profileErrorDocs: Record<string, string> = {
  PROFILE_INVALID_CREDENTIALS:
    'Login failed: no account with this address, or a wrong password (one message for both).',
  PROFILE_ACCOUNT_INACTIVE:
    'The password was right but the account has not been activated with its e-mailed code.',
  PROFILE_USER_NOT_FOUND: 'No user with this id (for example the session outlived its account).',
  PROFILE_EMAIL_TAKEN:
    'A user with this e-mail address (compared case-insensitively) already exists.',
  PROFILE_RATE_LIMITED:
    'Too many attempts for one e-mail address on this route; `Retry-After` says when to retry.',
  PROFILE_VALIDATION_FAILED: 'Field validation failed; `error` maps each field to a message.',
  PROFILE_INVALID_TOKEN:
    'The activation or reset code is wrong, expired, used, or void after too many tries; ' +
    '`error` is `{"token": "..."}`.'
}
