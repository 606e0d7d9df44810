import type { Multipart } from '@fastify/multipart'
import type { FastifyRequest } from 'fastify'
import { isMediaError, MediaErrors } from './errors.js'

export const THUMBNAIL_FIELD = 'thumbnail'
export const URL_FIELD = 'thumbnail_url'

const KiB = 1024

/**
 * Every busboy limit, for the upload route: one file of at most `maxBytes`, a few small fields.
 * `fileSize` is one byte over so that busboy never cuts a file of exactly `maxBytes`; the byte
 * over it makes uploadThumbnail's own `maxBytes` check fail, which drains the rest cleanly.
 */
export function uploadMultipartOptions (maxBytes: number) {
  return {
    limits: {
      fileSize: maxBytes + 1,
      files: 1,
      fields: 4,
      fieldNameSize: 100,
      fieldSize: KiB,
      parts: 6,
      headerPairs: 8,
      headerSize: 16 * KiB
    },
    // A `thumbnail` part without a file name (some clients send blobs that way) is still the file,
    // streamed rather than buffered as a field.
    isPartAFile: (name: string | undefined, type: string | undefined, fileName: string | undefined) =>
      name === THUMBNAIL_FIELD || fileName !== undefined || type === 'application/octet-stream'
  }
}

/** Every busboy limit, for the delete route: a few small fields and no file. */
export const deleteMultipartOptions = {
  limits: {
    fileSize: 0,
    files: 0,
    fields: 4,
    fieldNameSize: 100,
    fieldSize: 4 * KiB,
    parts: 4,
    headerPairs: 8,
    headerSize: 16 * KiB
  }
}

/** What went wrong in the multipart parser, as one of our errors. */
export function multipartFailure (error: unknown, maxBytes: number): Error {
  if (isMediaError(error)) return error

  switch ((error as { code?: unknown }).code) {
    case 'FST_REQ_FILE_TOO_LARGE': return MediaErrors.tooLarge(maxBytes)
    case 'FST_FILES_LIMIT': return MediaErrors.tooManyFiles()
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT': return MediaErrors.tooManyParts()
    case 'FST_MP_PREMATURE_CLOSE': return MediaErrors.uploadAborted({ cause: error })
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': return MediaErrors.notMultipart()
  }

  // Busboy's own errors (no boundary, bad part, body ended early) carry no code.
  return MediaErrors.badMultipart({ cause: error })
}

/**
 * The parts of a multipart request, one at a time. A parser error becomes one of ours; an abort
 * of `signal` ends the wait for the next part too (a client that stalls after its file).
 */
export function multipartParts (request: FastifyRequest, signal: AbortSignal, maxBytes: number) {
  const iterator = request.parts()[Symbol.asyncIterator]()

  return async (): Promise<Multipart | undefined> => {
    signal.throwIfAborted()

    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })

    try {
      const next = await Promise.race([iterator.next(), aborted])
      return next.done === true ? undefined : next.value
    } catch (error) {
      throw multipartFailure(error, maxBytes)
    } finally {
      signal.removeEventListener('abort', onAbort!)
    }
  }
}

/**
 * Stops feeding the parser and throws away whatever of the body is still to come, so a reply sent
 * early leaves the keep-alive connection usable for the next request.
 */
export function discardRest (request: FastifyRequest): void {
  const raw = request.raw
  if (raw.readableEnded) return

  raw.unpipe()
  raw.resume()
}
