import { Type } from '@sinclair/typebox'

export const UploadedSchema = Type.Object({
  s3_url: Type.String({ description: '`<S3_PUBLIC_URL>/<key>`: where the image is served' }),
  key: Type.String({ description: '`<S3_KEY_PREFIX><user id>/<26 base32 characters>_<name>.<ext>`' }),
  size: Type.Integer({ minimum: 1, description: 'bytes stored' }),
  content_type: Type.String({ description: 'detected from the bytes, never from the client' })
}, { additionalProperties: false })

const ThumbnailUrlSchema = Type.String({
  maxLength: 4096,
  description: 'an `s3_url` that POST /file/upload/ issued to the caller'
})

export const DeleteBodySchema = Type.Object({
  thumbnail_url: ThumbnailUrlSchema
}, { additionalProperties: false })

export const DeleteQuerySchema = Type.Object({
  thumbnail_url: Type.Optional(ThumbnailUrlSchema)
}, { additionalProperties: false })

/**
 * What the multipart bodies hold, for the OpenAPI document only: a multipart body is read in
 * the handler, as a stream, and is never validated by a schema.
 */
export const UploadFormSchema = Type.Object({
  thumbnail: Type.String({ format: 'binary', description: 'a PNG, JPEG, WebP, GIF or AVIF image' })
})

export const DeleteFormSchema = DeleteBodySchema

export const NoContentSchema = Type.Null({ description: 'deleted' })

export const OpenApiDocumentSchema = Type.Object({
  openapi: Type.String()
}, { additionalProperties: true })
