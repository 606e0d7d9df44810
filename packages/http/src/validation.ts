import type { FastifySchemaValidationError, SchemaErrorDataVar } from 'fastify/types/schema.js'
import { HttpErrors } from './errors.js'

interface Envelope {
  statusCode: number
  body: { error: string | Record<string, string>, code: string }
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null'
}

function fieldOf (issue: FastifySchemaValidationError): string {
  const params = issue.params as Record<string, unknown>
  const path = issue.instancePath.split('/').filter(Boolean).join('.')
  if (issue.keyword === 'required' && typeof params.missingProperty === 'string') {
    return path === '' ? params.missingProperty : `${path}.${params.missingProperty}`
  }
  return path === '' ? '(body)' : path
}

function messageOf (issue: FastifySchemaValidationError): string {
  const params = issue.params as Record<string, unknown>
  switch (issue.keyword) {
    case 'required': return 'must be provided'
    case 'minLength': return `must be at least ${String(params.limit)} characters long`
    case 'maxLength': return `must not be more than ${String(params.limit)} characters long`
    case 'format': return `must be a valid ${String(params.format)}`
    case 'pattern': return 'is malformed'
    case 'enum': return 'is not one of the accepted values'
    case 'minimum': return `must be at least ${String(params.limit)}`
    case 'maximum': return `must be at most ${String(params.limit)}`
    default: return issue.message ?? 'is invalid'
  }
}

function typeDescription (issue: FastifySchemaValidationError): string {
  const wanted = [(issue.params as { type?: string | string[] }).type ?? []].flat()
  return wanted.map((t) => typeNames[t] ?? t).join(' or ')
}

/**
 * Turns schema errors into the contract's statuses: wrong shape (unknown key, wrong type, not an object)
 * is a malformed request (400); a well-formed body with bad values is a validation failure (422).
 */
export function describeValidation (
  issues: FastifySchemaValidationError[],
  context: SchemaErrorDataVar | undefined
): Envelope {
  const first = issues[0]
  const bad = (message: string): Envelope => {
    const err = new HttpErrors.BadRequest(message)
    return { statusCode: 400, body: { error: err.message, code: err.code } }
  }
  if (first === undefined) return bad('request is invalid')

  if (context !== 'body') {
    return bad(`${context ?? 'request'} ${fieldOf(first)} ${messageOf(first)}`.replace(' (body)', ''))
  }
  const unknown = issues.find((issue) => issue.keyword === 'additionalProperties')
  if (unknown !== undefined) {
    const key = String((unknown.params as { additionalProperty?: unknown }).additionalProperty)
    const err = new HttpErrors.UnknownKey(key)
    return { statusCode: 400, body: { error: err.message, code: err.code } }
  }
  const wrongType = issues.find((issue) => issue.keyword === 'type')
  if (wrongType !== undefined) {
    const field = fieldOf(wrongType)
    if (field === '(body)') return bad(`body must be ${typeDescription(wrongType)}`)
    return bad(`body contains incorrect JSON type for "${field}": must be ${typeDescription(wrongType)}`)
  }

  const fields: Record<string, string> = {}
  for (const issue of issues) {
    const field = fieldOf(issue)
    fields[field] ??= messageOf(issue)
  }
  return { statusCode: 422, body: { error: fields, code: 'HTTP_VALIDATION_FAILED' } }
}
