import { Type, type TSchema } from '@sinclair/typebox'
import { errorResponses, MessageSchema } from '@tessera/http'

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

// In request bodies a single `type` list, so that a wrong type reads "must be a string or null"
const StringOrNull = (description: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], description })

// Fields are typed here and held to their rules by the domain validators, which name every bad
// (or missing) field of a request in one 422; the schema answers only shape with a 400.
const Field = (description: string) => Type.Optional(Type.String({ description }))

const Body = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false })

export const ProfileSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
  phone_number: Nullable(Type.String({ description: 'E.164, e.g. +16502530000' })),
  birth_date: Nullable(Type.String({ format: 'date', description: 'YYYY-MM-DD' })),
  github_link: Nullable(Type.String({ description: 'https://github.com/<user>' }))
})

/** The user object of the wire contract; the key order is binding. */
export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  is_active: Type.Boolean(),
  is_staff: Type.Boolean(),
  is_superuser: Type.Boolean(),
  thumbnail: Nullable(Type.String({ description: 'a URL the media service issued' })),
  date_joined: Type.String({ format: 'date-time' }),
  profile: ProfileSchema
})

export const IdParamsSchema = Type.Object({
  id: Type.String({ pattern: UUID, description: 'the user id (a UUID)' })
})

const email = Field('required; trimmed, compared case-insensitively')
const token = Field('required; the 6-digit code from the e-mail, spaces ignored')
const newPassword = Field('required; 8-72 bytes of UTF-8')
const name = Field('required; trimmed, 1-150 characters')

export const RegisterBodySchema = Body({ email, first_name: name, last_name: name, password: newPassword })
export const LoginBodySchema = Body({ email, password: Field('required') })
export const EmailBodySchema = Body({ email })
export const ActivateBodySchema = Body({ token })
export const PasswordChangeBodySchema = Body({ token, password: newPassword })

export const UpdateBodySchema = Body({
  first_name: Type.Optional(StringOrNull('1-150 characters; cannot be cleared')),
  last_name: Type.Optional(StringOrNull('1-150 characters; cannot be cleared')),
  thumbnail: Type.Optional(StringOrNull('a URL the media service issued for you; null or "" clears')),
  phone_number: Type.Optional(StringOrNull('normalised to E.164; null or "" clears')),
  birth_date: Type.Optional(StringOrNull('YYYY-MM-DD, from 1900-01-01 to today; null or "" clears')),
  github_link: Type.Optional(StringOrNull('https://github.com/<user>; null or "" clears'))
})

const tags = ['users']
const session = [{ sessionCookie: [] }]

/** Route schemas: request shape, OpenAPI text, and the response schemas that serialise. */
export const userSchemas = {
  register: {
    tags,
    summary: 'Register; e-mails a 6-digit activation code',
    body: RegisterBodySchema,
    response: { 202: MessageSchema, ...errorResponses }
  },
  activate: {
    tags,
    summary: 'Activate an account with its code',
    params: IdParamsSchema,
    body: ActivateBodySchema,
    response: { 200: MessageSchema, ...errorResponses }
  },
  regenerateToken: {
    tags,
    summary: 'Send a new activation code (the same answer whether or not the address exists)',
    body: EmailBodySchema,
    response: { 202: MessageSchema, ...errorResponses }
  },
  login: {
    tags,
    summary: 'Log in; sets the `sessionid` cookie',
    body: LoginBodySchema,
    response: { 200: UserSchema, ...errorResponses }
  },
  logout: {
    tags,
    summary: 'Log out; deletes this session and clears the cookie',
    security: session,
    response: { 200: MessageSchema, ...errorResponses }
  },
  currentUser: {
    tags,
    summary: 'The signed-in user',
    security: session,
    response: { 200: UserSchema, ...errorResponses }
  },
  requestPasswordChange: {
    tags,
    summary: 'E-mail a password reset code (the same answer whether or not the address exists)',
    body: EmailBodySchema,
    response: { 202: MessageSchema, ...errorResponses }
  },
  changePassword: {
    tags,
    summary: 'Set a new password with a reset code; ends every session of the user',
    params: IdParamsSchema,
    body: PasswordChangeBodySchema,
    response: { 200: MessageSchema, ...errorResponses }
  },
  update: {
    tags,
    summary: 'Change any subset of the names and profile fields',
    security: session,
    body: UpdateBodySchema,
    response: { 200: UserSchema, ...errorResponses }
  }
}
