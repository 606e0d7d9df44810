import type { S3Client } from '@aws-sdk/client-s3'
import type { FastifyRequest } from 'fastify'
import { MediaErrors } from './errors.js'
import { discardRest, multipartParts, THUMBNAIL_FIELD } from './multipart.js'
import {
  deleteThumbnail, uploadThumbnail, type BackgroundCleanup, type StoredThumbnail
} from './storage/uploads.js'

export interface ReceiveOptions {
  client: S3Client
  bucket: string
  keyPrefix: string
  urlSecret?: string
  maxBytes: number
  partSize: number
  queueSize: number
  /** Where a clean-up that could not reach S3 goes on. */
  background?: BackgroundCleanup
}

async function removeStored (request: FastifyRequest, options: ReceiveOptions, key: string) {
  try {
    await deleteThumbnail({ client: options.client, bucket: options.bucket, key })
  } catch (err) {
    if (err instanceof MediaErrors.notFound) return
    // TODO: nothing retries this; the object stays until an operator removes it.
    request.log.error({ err, key, operation: 'media.upload.discard' },
      'could not remove a refused upload')
  }
}

/**
 * Streams the one `thumbnail` file part of a multipart request into S3 for the request's user.
 * The rest of the body is read to its end before the upload counts: a second file part, a body
 * that breaks off or a client that goes away afterwards removes the stored object again.
 * On any failure the rest of the body is thrown away unread and nothing is left in S3.
 */
export async function receiveThumbnail (
  request: FastifyRequest,
  userId: string,
  signal: AbortSignal,
  options: ReceiveOptions
): Promise<StoredThumbnail> {
  if (!request.isMultipart()) throw MediaErrors.notMultipart()

  const { maxBytes } = options
  const nextPart = multipartParts(request, signal, maxBytes)
  let stored: StoredThumbnail | undefined

  try {
    for (let part = await nextPart(); part !== undefined; part = await nextPart()) {
      if (part.type === 'field') continue
      if (stored !== undefined) throw MediaErrors.tooManyFiles()
      if (part.fieldname !== THUMBNAIL_FIELD) throw MediaErrors.missingFile()

      stored = await uploadThumbnail({
        client: options.client,
        bucket: options.bucket,
        source: part.file,
        userId,
        fileName: part.filename,
        keyPrefix: options.keyPrefix,
        urlSecret: options.urlSecret,
        partSize: options.partSize,
        queueSize: options.queueSize,
        maxBytes,
        signal,
        log: request.log,
        background: options.background
      })

      // uploadThumbnail's own limit catches this first; a cut file must never count as stored.
      if (part.file.truncated) throw MediaErrors.tooLarge(maxBytes)
    }

    if (stored === undefined) throw MediaErrors.missingFile()
    return stored
  } catch (error) {
    discardRest(request)
    if (stored !== undefined) await removeStored(request, options, stored.key)
    throw error
  }
}
