import { describe, expect, it } from 'vitest'
import { isMediaError, MediaErrors, mediaErrorDocs } from '../../src/errors.js'

const expected: Record<string, number> = {
  MEDIA_EMPTY_FILE: 400,
  MEDIA_UNSUPPORTED_TYPE: 415,
  MEDIA_TOO_LARGE: 413,
  MEDIA_UPLOAD_ABORTED: 400,
  MEDIA_NOT_MULTIPART: 415,
  MEDIA_MISSING_FILE: 400,
  MEDIA_TOO_MANY_FILES: 400,
  MEDIA_TOO_MANY_PARTS: 400,
  MEDIA_BAD_MULTIPART: 400,
  MEDIA_MISSING_URL: 400,
  MEDIA_BAD_URL: 400,
  MEDIA_FORBIDDEN: 403,
  MEDIA_NOT_FOUND: 404,
  MEDIA_STORAGE_FAILED: 500,
  MEDIA_SHUTTING_DOWN: 503
}

describe('MediaErrors', () => {
  const made = Object.values(MediaErrors).map((MediaError) => MediaError())

  it('has these codes with these statuses', () => {
    expect(Object.fromEntries(made.map((error) => [error.code, error.statusCode]))).toEqual(expected)
  })

  it('documents every code and nothing else', () => {
    expect(Object.keys(mediaErrorDocs).sort()).toEqual(made.map((error) => error.code).sort())
    for (const text of Object.values(mediaErrorDocs)) expect(text.length).toBeGreaterThan(20)
  })

  it('formats the limit into the too-large message', () => {
    expect(MediaErrors.tooLarge(5242880).message).toBe('the file must not be larger than 5242880 bytes')
  })

  it('keeps a cause', () => {
    const cause = new Error('NoSuchBucket')

    expect(MediaErrors.storageFailed({ cause }).cause).toBe(cause)
  })

  it('tells its own errors from others', () => {
    expect(isMediaError(MediaErrors.notFound())).toBe(true)
    expect(isMediaError(Object.assign(new Error('x'), { code: 'MEDIA_NOT_FOUND', statusCode: 404 }))).toBe(false)
    expect(isMediaError(new Error('x'))).toBe(false)
    expect(isMediaError(undefined)).toBe(false)
  })
})
