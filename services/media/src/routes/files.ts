import type { S3Client } from '@aws-sdk/client-s3'
import multipart from '@fastify/multipart'
import type { SwaggerTransform } from '@fastify/swagger'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorResponses } from '@tessera/http'
import { objectUrl, parseObjectUrl } from '@tessera/media-url'
import { thumbnailUrlOf } from '../delete-input.js'
import { MediaErrors } from '../errors.js'
import { addFormBodyParser } from '../form-body.js'
import { deleteMultipartOptions, uploadMultipartOptions } from '../multipart.js'
import { receiveThumbnail } from '../receive-thumbnail.js'
import {
  DeleteBodySchema,
  DeleteFormSchema,
  DeleteQuerySchema,
  NoContentSchema,
  UploadedSchema,
  UploadFormSchema
} from '../schemas/files.js'
import { deleteThumbnail } from '../storage/uploads.js'
import { createUploadMetrics } from '../upload-metrics.js'

export interface FileRoutesOptions {
  client: S3Client
  bucket: string
  publicUrl: string
  keyPrefix: string
  urlSecret?: string
  maxBytes: number
  partSize: number
  queueSize: number
}

/** More than any body the upload parser accepts can hold besides the file (parts × header size). */
const MULTIPART_OVERHEAD = 128 * 1024

/** A body left unread that Node may still read and discard to keep the connection alive. */
const DRAINABLE_BYTES = 64 * 1024

const security = [{ sessionCookie: [] }]

/** `POST /file/upload/` and `DELETE /file/delete/`, both for signed-in users only. */
export async function fileRoutes (app: FastifyInstance, opts: FileRoutesOptions): Promise<void> {
  const metrics = createUploadMetrics(app.tesseraMetrics.registry)
  const urlOptions = { publicUrl: opts.publicUrl, keyPrefix: opts.keyPrefix }

  // Clean-ups that could not reach S3 are retried in the background, and make their last
  // attempt when the app closes.
  const closing = new AbortController()
  app.addHook('onClose', async () => { closing.abort() })
  const background = { track: (task: Promise<unknown>) => app.tasks.track(task), stop: closing.signal }
  const receiveOptions = { ...opts, background }

  async function upload (request: FastifyRequest, reply: FastifyReply) {
    const timer = metrics.start()
    const flight = app.mediaUploads.track(reply)

    try {
      const stored = await receiveThumbnail(request, userOf(request), flight.signal, receiveOptions)
      timer.stored(stored.size)
      request.log.info({ key: stored.key, size: stored.size }, 'thumbnail stored')

      return {
        s3_url: objectUrl(stored.key, urlOptions),
        key: stored.key,
        size: stored.size,
        content_type: stored.contentType
      }
    } catch (error) {
      timer.failed(error)
      throw error
    } finally {
      flight.done()
    }
  }

  async function refuseDeclaredOversize (request: FastifyRequest) {
    const declared = Number(request.headers['content-length'])
    if (!(declared > opts.maxBytes + MULTIPART_OVERHEAD)) return

    const error = MediaErrors.tooLarge(opts.maxBytes)
    metrics.start().failed(error)
    throw error
  }

  async function remove (request: FastifyRequest, reply: FastifyReply) {
    const parsed = parseObjectUrl(await thumbnailUrlOf(request), urlOptions)
    if (parsed === null) throw MediaErrors.badUrl()
    if (parsed.userId !== userOf(request)) throw MediaErrors.forbidden()

    await deleteThumbnail({ client: opts.client, bucket: opts.bucket, key: parsed.key })
    request.log.info({ key: parsed.key }, 'thumbnail deleted')

    return reply.code(204).send()
  }

  // A reply sent before the body was touched and while it is still arriving (401, 415, 413 by
  // Content-Length): Node would read all of it to keep the connection. Past a small body,
  // dropping the connection is cheaper.
  async function closeOverUnreadBody (request: FastifyRequest, reply: FastifyReply) {
    const raw = request.raw
    if (raw.complete || raw.readableFlowing !== null) return

    const declared = Number(request.headers['content-length'] ?? Infinity)
    if (declared > DRAINABLE_BYTES) reply.header('connection', 'close')
  }

  app.addHook('onRequest', app.requireSession)
  app.addHook('onSend', closeOverUnreadBody)

  await app.register(async (scope) => {
    // Only multipart is read here; anything else is refused before a byte of it is parsed.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, _payload, done) => {
      done(MediaErrors.notMultipart(), undefined)
    })
    await scope.register(multipart, uploadMultipartOptions(opts.maxBytes))
    scope.addHook('onRequest', refuseDeclaredOversize)

    scope.post('/file/upload/', {
      config: {
        operation: 'media.upload',
        swaggerTransform: documentBody({ 'multipart/form-data': { schema: UploadFormSchema } })
      },
      schema: {
        summary: 'Upload the caller\'s thumbnail',
        description: 'One file part `thumbnail`: a PNG, JPEG, WebP, GIF or AVIF image of at most ' +
          'MAX_THUMBNAIL_BYTES, its type read from its bytes. Answers once the file is stored.',
        tags: ['media'],
        security,
        response: { 200: UploadedSchema, ...errorResponses }
      }
    }, upload)
  })

  await app.register(async (scope) => {
    scope.removeContentTypeParser('text/plain')
    addFormBodyParser(scope)
    await scope.register(multipart, deleteMultipartOptions)

    const body = {
      'application/json': { schema: DeleteBodySchema },
      'application/x-www-form-urlencoded': { schema: DeleteBodySchema }
    }
    scope.delete('/file/delete/', {
      config: {
        operation: 'media.delete',
        swaggerTransform: documentBody({ ...body, 'multipart/form-data': { schema: DeleteFormSchema } })
      },
      schema: {
        summary: 'Delete one of the caller\'s thumbnails',
        description: '`thumbnail_url` exactly once: in the query string, or in a JSON, urlencoded ' +
          'or multipart body (the body is optional when the query carries it).',
        tags: ['media'],
        security,
        // A multipart body is not validated here: it is read, field by field, in the handler.
        body: { content: body },
        querystring: DeleteQuerySchema,
        response: { 204: NoContentSchema, ...errorResponses }
      }
    }, remove)
  })
}

/** The request bodies of a route for its OpenAPI operation, beyond what Fastify validates. */
function documentBody (content: Record<string, { schema: object }>): SwaggerTransform {
  return ({ schema, url }) => ({ schema: { ...schema, body: { content } }, url })
}

function userOf (request: FastifyRequest): string {
  // requireSession runs first for every route here.
  if (request.session === null) throw new Error('no session on a route that requires one')
  return request.session.userId
}
