import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpErrors, httpConventions, httpErrorDocs, serverOptions, validationFailed } from '../src/index.js'

let app: FastifyInstance

const BodySchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  email: Type.String({ format: 'email' }),
  age: Type.Optional(Type.Integer({ minimum: 0 }))
}, { additionalProperties: false })

beforeAll(async () => {
  const typed = Fastify(serverOptions({ level: 'silent', service: 'test', logger: false }))
    .withTypeProvider<TypeBoxTypeProvider>()
  app = typed
  await app.register(httpConventions)
  typed.post('/things/', { schema: { body: BodySchema } }, async (request) => ({ got: request.body.name }))
  app.get('/things/:id/', async () => ({ ok: true }))
  app.post('/small/', { bodyLimit: 100 }, async () => ({ ok: true }))
  app.put('/things/:id/', async () => ({ ok: true }))
  app.get('/boom/', async () => { throw new Error('relation "users" does not exist at pg/lib/client.js:12') })
  app.get('/teapot/', async () => { throw new HttpErrors.BadRequest('no tea') })
  app.get('/fields/', async () => { throw validationFailed({ phone_number: 'must be a valid phone number' }) })
  await app.ready()
})

afterAll(async () => { await app.close() })

const post = async (payload: string, contentType = 'application/json') =>
  await app.inject({ method: 'POST', url: '/things/', payload, headers: { 'content-type': contentType } })

describe('request bodies', () => {
  it('accepts a valid body with or without the trailing slash', async () => {
    const body = JSON.stringify({ name: 'Ada', email: 'ada@example.com' })
    for (const url of ['/things/', '/things']) {
      const res = await app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json' } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(res.json()).toEqual({ got: 'Ada' })
    }
  })

  it('rejects an unknown key with 400 naming it', async () => {
    const res = await post(JSON.stringify({ name: 'Ada', email: 'ada@example.com', is_superuser: true }))
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: 'body contains unknown key "is_superuser"', code: 'HTTP_UNKNOWN_KEY' })
  })

  it('rejects a wrong type with 400, never coercing it', async () => {
    const res = await post(JSON.stringify({ name: 42, email: 'ada@example.com' }))
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({
      error: 'body contains incorrect JSON type for "name": must be a string',
      code: 'HTTP_BAD_REQUEST'
    })
  })

  it('rejects a body that is not an object', async () => {
    const res = await post('[1,2]')
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('body must be an object')
  })

  it('answers bad values with 422 and every failing field', async () => {
    const res = await post(JSON.stringify({ name: '', email: 'nope' }))
    expect(res.statusCode).toBe(422)
    expect(res.json()).toEqual({
      error: { name: 'must be at least 1 characters long', email: 'must be a valid email' },
      code: 'HTTP_VALIDATION_FAILED'
    })
  })

  it('answers a missing field with 422', async () => {
    const res = await post(JSON.stringify({ name: 'Ada' }))
    expect(res.statusCode).toBe(422)
    expect(res.json().error).toEqual({ email: 'must be provided' })
  })

  it.each([
    ['badly formed', '{"name": "Ada",'],
    ['two values', '{"name":"Ada","email":"a@b.co"}{"x":1}'],
    ['trailing garbage', '{"name":"Ada","email":"a@b.co"} x']
  ])('rejects %s JSON with 400', async (_label, payload) => {
    const res = await post(payload)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: 'body contains badly-formed JSON', code: 'HTTP_INVALID_JSON' })
  })

  it.each([
    ['__proto__', '{"name":"Ada","email":"a@b.co","__proto__":{"isAdmin":true}}'],
    ['constructor', '{"name":"Ada","email":"a@b.co","constructor":{"prototype":{"isAdmin":true}}}'],
    ['__proto__', '{"name":"Ada","email":"a@b.co","nested":{"__proto__":{"isAdmin":true}}}']
  ])('rejects the prototype key %s as an unknown key with 400', async (key, payload) => {
    const res = await post(payload)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: `body contains unknown key "${key}"`, code: 'HTTP_UNKNOWN_KEY' })
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  })

  it('answers a text/plain body with 415, not a JSON shape error', async () => {
    const res = await post('{"name":"Ada","email":"a@b.co"}', 'text/plain')
    expect(res.statusCode).toBe(415)
    expect(res.json()).toEqual({ error: 'unsupported content type', code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' })
  })

  it('rejects an empty JSON body with 400', async () => {
    const res = await post('')
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('body must not be empty')
  })

  it('rejects a body over 1 MiB with 413', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(1024 * 1024), email: 'a@b.co' }))
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual({ error: 'body must not be larger than 1048576 bytes', code: 'HTTP_PAYLOAD_TOO_LARGE' })
  })

  it('names the route\'s own body limit in a 413, not the app-wide one', async () => {
    const res = await app.inject({
      method: 'POST', url: '/small/', payload: JSON.stringify({ pad: 'x'.repeat(200) }), headers: { 'content-type': 'application/json' }
    })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual({ error: 'body must not be larger than 100 bytes', code: 'HTTP_PAYLOAD_TOO_LARGE' })
  })

  it('rejects an unsupported content type with 415', async () => {
    const res = await post('name=Ada', 'text/csv')
    expect(res.statusCode).toBe(415)
    expect(res.json()).toEqual({ error: 'unsupported content type', code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' })
  })

  it('parses a deeply nested body without crashing and rejects it by shape', async () => {
    const res = await post(JSON.stringify({ name: 'Ada', email: 'a@b.co', age: 1 }).replace('1}', '['.repeat(50_000) + ']'.repeat(50_000) + '}'))
    expect(res.statusCode).toBe(400)
  })
})

describe('routing', () => {
  it('answers an unknown path with a JSON 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/nothing/here/' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.json()).toEqual({ error: 'the requested resource could not be found', code: 'HTTP_NOT_FOUND' })
  })

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/things/1234' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD, PUT')
    expect(res.json()).toEqual({ error: 'the DELETE method is not supported for this resource', code: 'HTTP_METHOD_NOT_ALLOWED' })
  })
})

describe('errors', () => {
  it('hides the text of an unexpected error behind a generic 500', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom/' })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({
      error: 'the server encountered a problem and could not process your request',
      code: 'HTTP_INTERNAL'
    })
    expect(res.body).not.toContain('relation')
  })

  it('passes a 4xx message through', async () => {
    const res = await app.inject({ method: 'GET', url: '/teapot/' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: 'no tea', code: 'HTTP_BAD_REQUEST' })
  })

  it('sends a field map for a domain validation failure', async () => {
    const res = await app.inject({ method: 'GET', url: '/fields/' })
    expect(res.statusCode).toBe(422)
    expect(res.json()).toEqual({ error: { phone_number: 'must be a valid phone number' }, code: 'HTTP_VALIDATION_FAILED' })
  })

  it('documents every code of the catalogue', () => {
    const codes: string[] = Object.values(HttpErrors).map((E) => new E('x').code)
    codes.push('HTTP_VALIDATION_FAILED')
    expect(Object.keys(httpErrorDocs).sort()).toEqual([...new Set(codes)].sort())
  })
})

describe('request ids', () => {
  it('keeps a short token from the caller', async () => {
    const res = await app.inject({ method: 'GET', url: '/things/1', headers: { 'x-request-id': 'abc-123' } })
    expect(res.headers['x-request-id']).toBe('abc-123')
  })

  it('replaces a value that is not a short token', async () => {
    const res = await app.inject({ method: 'GET', url: '/things/1', headers: { 'x-request-id': 'a b\r\n<script>' } })
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('generates one when absent', async () => {
    const a = await app.inject({ method: 'GET', url: '/things/1' })
    const b = await app.inject({ method: 'GET', url: '/things/1' })
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id'])
  })
})
