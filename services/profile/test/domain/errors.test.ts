import { ValidationFailedError } from '@tessera/http'
import { describe, expect, it } from 'vitest'
import {
  invalidToken, PROFILE_INVALID_TOKEN, PROFILE_VALIDATION_FAILED, ProfileErrors, profileErrorDocs,
  profileValidationFailed
} from '../../src/errors.js'

describe('profile error catalogue', () => {
  const catalogue = Object.values(ProfileErrors).map((Make) => new Make())

  it('documents exactly the codes it can produce', () => {
    const codes = [...catalogue.map((err) => err.code), PROFILE_VALIDATION_FAILED, PROFILE_INVALID_TOKEN]
      .sort()

    expect(Object.keys(profileErrorDocs).sort()).toEqual(codes)
    for (const code of codes) expect(profileErrorDocs[code]?.length).toBeGreaterThan(20)
  })

  it('prefixes every code and gives each its status', () => {
    expect(Object.fromEntries(catalogue.map((err) => [err.code, err.statusCode]))).toEqual({
      PROFILE_INVALID_CREDENTIALS: 401,
      PROFILE_ACCOUNT_INACTIVE: 403,
      PROFILE_USER_NOT_FOUND: 404,
      PROFILE_EMAIL_TAKEN: 409,
      PROFILE_RATE_LIMITED: 429
    })
  })

  it('answers a bad code as a 422 on the token field', () => {
    const err = invalidToken()

    expect(err).toBeInstanceOf(ValidationFailedError)
    expect([err.statusCode, err.code, err.fields])
      .toEqual([422, 'PROFILE_INVALID_TOKEN', { token: 'invalid or expired token' }])
    expect(profileValidationFailed({ email: 'must be provided' }).code).toBe('PROFILE_VALIDATION_FAILED')
  })
})
