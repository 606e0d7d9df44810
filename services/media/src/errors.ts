import createError, { type FastifyError } from '@fastify/error'

/** The media service's errors; each carries its `code` and HTTP `statusCode`. */
export const MediaErrors = {
  emptyFile: createError('MEDIA_EMPTY_FILE', 'the uploaded file is empty', 400),
  unsupportedType: createError('MEDIA_UNSUPPORTED_TYPE',
    'the file must be a PNG, JPEG, WebP, GIF or AVIF image', 415),
  tooLarge: createError('MEDIA_TOO_LARGE', 'the file must not be larger than %s bytes', 413),
  uploadAborted: createError('MEDIA_UPLOAD_ABORTED', 'the upload ended before the file was complete', 400),
  notMultipart: createError('MEDIA_NOT_MULTIPART', 'the request must be multipart/form-data', 415),
  missingFile: createError('MEDIA_MISSING_FILE', 'the request must carry a file part named "thumbnail"', 400),
  tooManyFiles: createError('MEDIA_TOO_MANY_FILES', 'the request must carry exactly one file part', 400),
  tooManyParts: createError('MEDIA_TOO_MANY_PARTS', 'the multipart body has too many parts', 400),
  badMultipart: createError('MEDIA_BAD_MULTIPART', 'the multipart body is malformed', 400),
  missingUrl: createError('MEDIA_MISSING_URL', 'thumbnail_url must be given', 400),
  badUrl: createError('MEDIA_BAD_URL', 'thumbnail_url is not a URL issued by this service', 400),
  forbidden: createError('MEDIA_FORBIDDEN', 'this file belongs to another user', 403),
  notFound: createError('MEDIA_NOT_FOUND', 'the file could not be found', 404),
  // 500, not 502: DESIGN.md keeps 502-504 for the gateway's view of a failing service.
  storageFailed: createError('MEDIA_STORAGE_FAILED',
    'the server encountered a problem and could not process your request', 500),
  shuttingDown: createError('MEDIA_SHUTTING_DOWN', 'the service is shutting down; please try again', 503)
}

/** Documentation of every code in {@link MediaErrors}; a test keeps it complete. */
export const mediaErrorDocs: Record<string, string> = {
  MEDIA_EMPTY_FILE: 'The file part had no bytes. Nothing was stored.',
  MEDIA_UNSUPPORTED_TYPE: 'The file bytes are not a PNG, JPEG, WebP, GIF or AVIF image (SVG and HTML ' +
    'are refused). The declared type and file name are ignored. Nothing was stored.',
  MEDIA_TOO_LARGE: 'The file is over MAX_THUMBNAIL_BYTES. Nothing was stored.',
  MEDIA_UPLOAD_ABORTED: 'The client stopped sending, or the request was cancelled, before the file ' +
    'was complete. The partial upload was discarded.',
  MEDIA_NOT_MULTIPART: 'The upload request is not multipart/form-data.',
  MEDIA_MISSING_FILE: 'The multipart body has no file part named `thumbnail`.',
  MEDIA_TOO_MANY_FILES: 'The multipart body has more than one file part.',
  MEDIA_TOO_MANY_PARTS: 'The multipart body has more parts or fields than a thumbnail upload needs. ' +
    'Nothing was stored.',
  MEDIA_BAD_MULTIPART: 'The multipart body could not be parsed: no or a bad boundary, a malformed part, ' +
    'a forbidden field name, or a body that ends before its closing boundary. Nothing was stored.',
  MEDIA_MISSING_URL: 'The delete request did not say which file (`thumbnail_url`).',
  MEDIA_BAD_URL: '`thumbnail_url` is not a URL this service issued: other host, scheme, prefix or ' +
    'key shape, or an unusual spelling of one.',
  MEDIA_FORBIDDEN: '`thumbnail_url` names a file of another user.',
  MEDIA_NOT_FOUND: 'No object is stored under the key of `thumbnail_url`.',
  MEDIA_STORAGE_FAILED: 'S3 failed or could not be reached. The cause is in the log only; any ' +
    'partial upload was discarded.',
  MEDIA_SHUTTING_DOWN: 'The service was stopping and the upload did not finish within the shutdown ' +
    'grace period. The partial upload was discarded; send it again.'
}

/** `true` for an error made from {@link MediaErrors}. */
export function isMediaError (error: unknown): error is FastifyError & { statusCode: number } {
  return error instanceof Error &&
    typeof (error as Partial<FastifyError>).code === 'string' &&
    Object.values(MediaErrors).some((MediaError) => error instanceof MediaError)
}
