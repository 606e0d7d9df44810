import { PassThrough, type Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { fileTypeFromBuffer } from 'file-type'
import { assertKeyPrefix, UUID_PATTERN, type MediaExtension } from '@tessera/media-url'
import { isMediaError, MediaErrors } from '../errors.js'
import { CACHE_CONTROL, contentDisposition, objectKey } from './names.js'

export const MIN_PART_SIZE = 5 * 1024 * 1024
export const DEFAULT_QUEUE_SIZE = 2

/** file-type's own sample size: every accepted format is recognised within it. */
const SAMPLE_BYTES = 4100

const ACCEPTED: Record<string, { ext: MediaExtension, contentType: string }> = {
  'image/png': { ext: 'png', contentType: 'image/png' },
  // An animated PNG is a PNG to every decoder that ignores the animation chunks.
  'image/apng': { ext: 'png', contentType: 'image/png' },
  'image/jpeg': { ext: 'jpg', contentType: 'image/jpeg' },
  'image/webp': { ext: 'webp', contentType: 'image/webp' },
  'image/gif': { ext: 'gif', contentType: 'image/gif' },
  'image/avif': { ext: 'avif', contentType: 'image/avif' }
}

/** The slice of a pino logger this module writes to. */
export interface StorageLogger {
  error (object: object, message: string): void
}

export interface UploadThumbnailOptions {
  client: S3Client
  bucket: string
  /** The file's bytes. Consumed; on failure whatever is left is drained (see below). */
  source: Readable
  /** Owner, a lowercase UUID. */
  userId: string
  /** The client's file name; only its letters and digits reach the key. */
  fileName?: string
  /** `S3_KEY_PREFIX`. */
  keyPrefix: string
  /** `MEDIA_URL_SECRET`: sign the object id so the profile service accepts the URL. */
  urlSecret?: string
  /** Bytes per multipart part; at least and by default 5 MiB. */
  partSize?: number
  /** Parts in flight at once; default 2. Memory per upload is about (queueSize + 1) × partSize. */
  queueSize?: number
  /** More bytes than this → MEDIA_TOO_LARGE. A second guard behind the multipart limit. */
  maxBytes?: number
  /** Aborting it (the client went away) discards the upload. */
  signal?: AbortSignal
  /** Called with the number of bytes read from `source` so far. */
  onProgress?: (bytesReceived: number) => void
  /** Told when discarding a failed upload fails too, which may leave something behind. */
  log?: StorageLogger
  /** Where a clean-up that failed (S3 unreachable) goes on; without it, it is only logged. */
  background?: BackgroundCleanup
}

/** A clean-up retried in the background with backoff, for about a minute. */
export interface BackgroundCleanup {
  /** Registers it, e.g. `app.tasks.track`, so that shutdown waits for it. */
  track: (task: Promise<unknown>) => unknown
  /** Aborted when the app closes: the clean-up makes its last attempt at once. */
  stop: AbortSignal
}

export interface StoredThumbnail {
  key: string
  size: number
  contentType: string
}

function sourceFailure (error: unknown): Error {
  return isMediaError(error) ? error : MediaErrors.uploadAborted({ cause: error })
}

/**
 * Reads the caller's stream from start to end, holding every listener itself so the stream never
 * emits unheard: first the head (enough bytes to recognise the type), then the rest into `body`
 * with backpressure. The first failure (stream error, premature close, abort, over the limit)
 * is kept and ends `body` with it.
 */
class SourceReader {
  bytes = 0
  ended = false
  failure: Error | undefined

  private readonly head: Buffer[] = []
  private headBytes = 0
  private body: PassThrough | undefined
  private waiter: { resolve: () => void, reject: (error: Error) => void } | undefined

  constructor (
    private readonly source: Readable,
    private readonly options: Pick<UploadThumbnailOptions, 'signal' | 'maxBytes' | 'onProgress'>
  ) {
    // Listeners go on first: an error already scheduled by destroy() must not find none.
    source.on('data', this.onData).on('end', this.onEnd)
    source.on('error', this.onError).on('close', this.onClose)

    if (source.errored) {
      this.fail(sourceFailure(source.errored))
    } else if (source.readableEnded) {
      this.ended = true
    } else if (source.destroyed) {
      this.fail(MediaErrors.uploadAborted())
    } else {
      source.resume()
    }

    if (options.signal?.aborted === true) this.onAbort()
    options.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** Resolves with the first bytes once there are enough of them or the stream ended. */
  async readHead (): Promise<Buffer> {
    if (this.failure === undefined && !this.ended && this.headBytes < SAMPLE_BYTES) {
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject }
      })
    }

    if (this.failure !== undefined) throw this.failure
    return Buffer.concat(this.head)
  }

  /** Writes the head, then the rest of the stream, into `body`. */
  pipeTo (body: PassThrough) {
    this.body = body
    body.on('drain', () => this.source.resume())

    let flowing = true
    for (const chunk of this.head.splice(0)) flowing = body.write(chunk)

    if (this.failure !== undefined) {
      body.destroy(this.failure)
    } else if (this.ended) {
      body.end()
    } else if (flowing) {
      this.source.resume()
    }
  }

  /**
   * Stops listening. After a failure a still readable stream is resumed to drain what is left:
   * a paused file stream would stall the multipart parser and the reply behind it.
   */
  release () {
    this.options.signal?.removeEventListener('abort', this.onAbort)
    this.source.off('data', this.onData).off('end', this.onEnd).off('close', this.onClose)
    this.source.off('error', this.onError)

    // Errors after this point mean nothing to the upload; they must not become uncaught.
    this.source.on('error', () => {})
    if (!this.ended && !this.source.destroyed) this.source.resume()
  }

  private readonly onData = (chunk: Buffer | string) => {
    if (this.failure !== undefined) return

    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.bytes += data.length
    this.options.onProgress?.(this.bytes)

    const { maxBytes } = this.options
    if (maxBytes !== undefined && this.bytes > maxBytes) {
      return this.fail(MediaErrors.tooLarge(maxBytes))
    }

    if (this.body !== undefined) {
      if (!this.body.write(data)) this.source.pause()
      return
    }

    this.head.push(data)
    this.headBytes += data.length
    if (this.headBytes >= SAMPLE_BYTES) {
      this.source.pause()
      this.settleHead()
    }
  }

  private readonly onEnd = () => {
    this.ended = true
    if (this.body !== undefined) this.body.end()
    this.settleHead()
  }

  private readonly onError = (error: unknown) => this.fail(sourceFailure(error))

  private readonly onClose = () => {
    if (!this.ended) this.fail(MediaErrors.uploadAborted())
  }

  private readonly onAbort = () => this.fail(sourceFailure(this.options.signal?.reason))

  private fail (error: Error) {
    if (this.failure !== undefined) return
    this.failure = error

    this.source.pause()
    this.body?.destroy(error)
    this.waiter?.reject(error)
    this.waiter = undefined
  }

  private settleHead () {
    this.waiter?.resolve()
    this.waiter = undefined
  }
}

async function detectType (head: Buffer) {
  try {
    const type = await fileTypeFromBuffer(head)
    return type === undefined ? undefined : ACCEPTED[type.mime]
  } catch {
    return undefined
  }
}

function status (error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode
}

interface DiscardTarget {
  client: S3Client
  bucket: string
  key: string
  /** The multipart upload lib-storage started, if it knew of one. */
  uploadId: string | undefined
  /** Whether a CreateMultipartUpload may have been sent whose answer never came back. */
  mayHaveCreated: boolean
}

/** Pauses before each retry of a clean-up that failed: about a minute in all. */
const DISCARD_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15_000, 30_000]

/**
 * Removes whatever a failed upload may have left under `key`: the multipart upload lib-storage
 * knew of (it normally aborted it already), one whose CreateMultipartUpload answer was lost, and
 * an object that a PutObject or CompleteMultipartUpload stored before the failure was noticed.
 * Keys are fresh, so this can never touch another upload's data. Resolves with what failed.
 */
async function discardOnce ({ client, bucket, key, uploadId, mayHaveCreated }: DiscardTarget) {
  const problems: unknown[] = []
  const abort = async (id: string) => {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }))
    } catch (error) {
      if (status(error) !== 404) problems.push(error)
    }
  }

  if (uploadId !== undefined) {
    await abort(uploadId)
  } else if (mayHaveCreated) {
    try {
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))
      for (const found of listed.Uploads ?? []) {
        if (found.Key === key && found.UploadId !== undefined) await abort(found.UploadId)
      }
    } catch (error) {
      problems.push(error)
    }
  }

  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  } catch (error) {
    if (status(error) !== 404) problems.push(error)
  }

  return problems
}

function report (problems: unknown[], key: string, log: StorageLogger | undefined, message: string) {
  for (const error of problems) log?.error({ err: error, key, operation: 'media.upload.discard' }, message)
}

async function retryDiscard (target: DiscardTarget, log: StorageLogger | undefined, stop: AbortSignal) {
  let problems: unknown[] = []
  for (const delay of DISCARD_RETRY_DELAYS_MS) {
    await sleep(delay, undefined, { ref: false, signal: stop }).catch(() => {})
    problems = await discardOnce(target)
    if (problems.length === 0 || stop.aborted) break
  }
  if (problems.length === 0) return

  // TODO: past the retries a bucket lifecycle rule that aborts incomplete multipart uploads
  // after a day is the backstop, and a stored object needs an operator.
  report(problems, target.key, log, 'could not discard a failed upload')
}

/**
 * Discards a failed upload. When S3 cannot be reached for it (S3 went down with the upload) the
 * clean-up goes on in `background`, so that nothing stays behind once S3 is back.
 */
async function discard (
  target: DiscardTarget,
  log: StorageLogger | undefined,
  background: BackgroundCleanup | undefined
) {
  const problems = await discardOnce(target)
  if (problems.length === 0) return

  if (background === undefined) return report(problems, target.key, log, 'could not discard a failed upload')
  report(problems, target.key, log, 'could not discard a failed upload yet; retrying in the background')
  background.track(retryDiscard(target, log, background.stop))
}

function checkOptions (options: UploadThumbnailOptions, partSize: number, queueSize: number) {
  assertKeyPrefix(options.keyPrefix)
  if (!UUID_PATTERN.test(options.userId)) {
    throw new TypeError(`user id ${JSON.stringify(options.userId)} is not a lowercase UUID`)
  }
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new RangeError(`partSize must be an integer of at least ${MIN_PART_SIZE}`)
  }
  if (!Number.isSafeInteger(queueSize) || queueSize < 1) {
    throw new RangeError('queueSize must be a positive integer')
  }
}

/**
 * Streams one thumbnail into S3 under a fresh key of `userId`.
 *
 * The type is read from the first bytes (PNG, JPEG, WebP, GIF, AVIF; else MEDIA_UNSUPPORTED_TYPE)
 * before anything is sent to S3; no bytes → MEDIA_EMPTY_FILE. The rest streams through
 * lib-storage in `partSize` parts, at most `queueSize` in flight, with the detected
 * Content-Type, an immutable Cache-Control and an inline Content-Disposition.
 *
 * Any failure rejects with a media error and leaves no object and no incomplete upload: an
 * error of `source` (a media error it carries is passed on as it is, e.g. MEDIA_TOO_LARGE from
 * the multipart limit; any other becomes MEDIA_UPLOAD_ABORTED), `signal` (its reason likewise),
 * more than `maxBytes` (MEDIA_TOO_LARGE), or S3 (MEDIA_STORAGE_FAILED, cause attached).
 * It settles only once lib-storage has no request in flight, so nothing is written afterwards.
 *
 * On failure a `source` that can still be read is resumed to drain it; destroy it yourself to
 * stop the client instead.
 */
export async function uploadThumbnail (options: UploadThumbnailOptions): Promise<StoredThumbnail> {
  const { client, bucket, log } = options
  const partSize = options.partSize ?? MIN_PART_SIZE
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE
  checkOptions(options, partSize, queueSize)

  const reader = new SourceReader(options.source, options)
  try {
    // file-type's fileTypeStream() samples only the first chunk it is handed, which on a slow
    // socket can be a few bytes of a valid image; the head is collected here instead.
    const head = await reader.readHead()
    if (head.length === 0) throw MediaErrors.emptyFile()

    const type = await detectType(head)
    if (type === undefined) throw MediaErrors.unsupportedType()

    const { keyPrefix, userId, fileName } = options
    const name = objectKey({ keyPrefix, userId, fileName, ext: type.ext, secret: options.urlSecret })
    const body = new PassThrough()
    // Its errors reach lib-storage through iteration; this keeps an earlier one from being uncaught.
    body.on('error', () => {})
    reader.pipeTo(body)

    // TODO: lib-storage cannot cancel a part already in flight, so an abort settles only once
    // that part is answered (bounded by the client's socket timeout); and after one part fails
    // its other workers read on to the end of the body. Both are bounded by the size limit.
    const upload = new Upload({
      client,
      partSize,
      queueSize,
      leavePartsOnError: false,
      params: {
        Bucket: bucket,
        Key: name.key,
        Body: body,
        ContentType: type.contentType,
        CacheControl: CACHE_CONTROL,
        ContentDisposition: contentDisposition(name.fileName)
      }
    })

    let failure: Error | undefined
    try {
      await upload.done()
    } catch (error) {
      failure = reader.failure ?? MediaErrors.storageFailed({ cause: error })
    }

    // An abort that came while the last request was in flight still discards the upload.
    failure ??= reader.failure
    if (failure !== undefined) {
      const target = {
        client, bucket, key: name.key, uploadId: upload.uploadId, mayHaveCreated: reader.bytes > partSize
      }
      await discard(target, log, options.background)
      throw failure
    }

    return { key: name.key, size: reader.bytes, contentType: type.contentType }
  } finally {
    reader.release()
  }
}

export interface DeleteThumbnailOptions {
  client: S3Client
  bucket: string
  key: string
}

/** Deletes one object; MEDIA_NOT_FOUND when there is none, MEDIA_STORAGE_FAILED when S3 fails. */
export async function deleteThumbnail (options: DeleteThumbnailOptions): Promise<void> {
  const { client, bucket, key } = options

  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
  } catch (error) {
    if (status(error) === 404) throw MediaErrors.notFound()
    throw MediaErrors.storageFailed({ cause: error })
  }

  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  } catch (error) {
    throw MediaErrors.storageFailed({ cause: error })
  }
}
