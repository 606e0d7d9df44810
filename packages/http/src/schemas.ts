import { Type } from '@sinclair/typebox'

export const ErrorSchema = Type.Object({
  error: Type.Union([Type.String(), Type.Record(Type.String(), Type.String())]),
  code: Type.String()
}, { $id: 'Error' })

export const MessageSchema = Type.Object({ message: Type.String() })

export const UuidSchema = Type.String({ format: 'uuid' })

/** The error responses a JSON route can produce, to spread into `response` schemas. */
export const errorResponses = {
  '4xx': ErrorSchema,
  '5xx': ErrorSchema
}
