import { randomUUID } from 'node:crypto'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { describeRedis } from '@tessera/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multipartForm, PNG, pngOfSize, signedInUser, thumbnailForm, type SignedInUser } from '../src/index.js'
import { rawRequest, sendRaw } from '../src/hostile.js'
import { JSON_TYPE, SESSION_REQUIRED, state, useStack } from './helpers.js'

const MiB = 1024 * 1024

type Target = 'gateway' | 'profile' | 'media'

const ownCode = /^(HTTP|PROFILE|MEDIA|GATEWAY|SESSION|GUARD)_/

interface Context {
  user: SignedInUser
  publicUrl: string
}

interface Expected {
  status: number
  /** The exact JSON body, or '' for none. */
  body: unknown
}

interface Case {
  name: string
  request: (ctx: Context) => Buffer
  answers: Partial<Record<Target, Expected>>
  /** Accepted on purpose (valid though odd): the one object it stores is checked and removed. */
  stores?: (key: string, ctx: Context) => void
}

const envelope = (status: number, code: string, error: unknown): Expected => ({ status, body: { error, code } })
const badRequest = (error: string) => envelope(400, 'HTTP_BAD_REQUEST', error)
const invalidJson = envelope(400, 'HTTP_INVALID_JSON', 'body contains badly-formed JSON')
const unknownKey = (key: string) => envelope(400, 'HTTP_UNKNOWN_KEY', `body contains unknown key "${key}"`)
const notObject = badRequest('body must be an object')
const wrongType = (field: string, type: string) =>
  badRequest(`body contains incorrect JSON type for "${field}": must be ${type}`)
const invalid = (fields: Record<string, string>) => envelope(422, 'PROFILE_VALIDATION_FAILED', fields)
const unsupported = envelope(415, 'HTTP_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type')
const unauthenticated: Expected = { status: 401, body: SESSION_REQUIRED }
const notFound = envelope(404, 'HTTP_NOT_FOUND', 'the requested resource could not be found')
const badPath = envelope(400, 'GATEWAY_BAD_PATH', 'the request path is malformed')
const media = (status: number, code: string, error: string) => envelope(status, `MEDIA_${code}`, error)
const badMultipart = media(400, 'BAD_MULTIPART', 'the multipart body is malformed')
const missingFile = media(400, 'MISSING_FILE', 'the request must carry a file part named "thumbnail"')
const malformed = envelope(400, 'HTTP_MALFORMED_REQUEST', 'the request is malformed')
const gatewayMalformed = envelope(400, 'GATEWAY_MALFORMED_REQUEST', 'the request is malformed')
const gatewayTooLarge = (bytes: number) =>
  envelope(413, 'GATEWAY_PAYLOAD_TOO_LARGE', `body must not be larger than ${bytes} bytes`)
const jsonTooLarge = envelope(413, 'HTTP_PAYLOAD_TOO_LARGE', 'body must not be larger than 1048576 bytes')
const uploadTooLarge = media(413, 'TOO_LARGE', 'the file must not be larger than 5242880 bytes')
// Media's limit and the gateway's: MAX_THUMBNAIL_BYTES, plus 128 KiB of multipart framing.
const UPLOAD_BODY_LIMIT = 5 * MiB + 128 * 1024
const sameFrom = (answer: Expected, ...targets: Target[]) =>
  Object.fromEntries(targets.map((target) => [target, answer])) as Partial<Record<Target, Expected>>

const patch = (body: string | Buffer, headers: Record<string, string | number> = {}) => (ctx: Context) =>
  rawRequest('PATCH', '/users/update-user/', { cookie: ctx.user.cookie, 'content-type': 'application/json', ...headers }, body)
const post = (path: string, body: string) => () =>
  rawRequest('POST', path, { 'content-type': 'application/json' }, body)
const upload = (contentType: string, body: Buffer | string, headers: Record<string, string | number> = {}) =>
  (ctx: Context) => rawRequest('POST', '/file/upload/', { cookie: ctx.user.cookie, 'content-type': contentType, ...headers }, body)
const uploadOf = (form: { contentType: string, body: Buffer }) => upload(form.contentType, form.body)
type Headers = (ctx: Context) => Record<string, string | number>
const withSession: Headers = (ctx) => ({ cookie: ctx.user.cookie })
const get = (path: string, headers: Headers = withSession) => (ctx: Context) => rawRequest('GET', path, headers(ctx))
const remove = (query: string, headers: Record<string, string> = {}, body = '') => (ctx: Context) =>
  rawRequest('DELETE', `/file/delete/${query}`, { cookie: ctx.user.cookie, ...headers }, body)
const deleteJson = (body: (ctx: Context) => unknown) => (ctx: Context) =>
  rawRequest('DELETE', '/file/delete/', { cookie: ctx.user.cookie, 'content-type': 'application/json' },
    JSON.stringify(body(ctx)))
const nested = (depth: number) => `{"first_name":${'['.repeat(depth)}${']'.repeat(depth)}}`
const otherKey = (userId: string) => `thumbnails/${userId}/01M8XPFP0WB0QY98X31TS806DB_a.png`
const keyOf = (userId: string, name: string) => new RegExp(`^thumbnails/${userId}/[0-9A-HJKMNP-TV-Z]{26}_${name}$`)

const form = thumbnailForm()
const withHeadLine = (line: string) =>
  Buffer.concat([Buffer.from(`--${form.boundary}\r\n${line}`), form.body.subarray(form.boundary.length + 4)])

const json: Case[] = [
  { name: 'malformed JSON', request: patch('{"first_name": '), answers: sameFrom(invalidJson, 'gateway', 'profile') },
  { name: 'two JSON values', request: patch('{}{}'), answers: sameFrom(invalidJson, 'gateway', 'profile') },
  { name: 'trailing bytes after JSON', request: patch('{"first_name":"A"}x'), answers: sameFrom(invalidJson, 'gateway', 'profile') },
  { name: 'an empty JSON body', request: patch(''), answers: sameFrom(badRequest('body must not be empty'), 'gateway', 'profile') },
  { name: 'an array body', request: patch('[]'), answers: sameFrom(notObject, 'gateway', 'profile') },
  { name: 'a string body', request: patch('"x"'), answers: sameFrom(notObject, 'gateway', 'profile') },
  { name: 'a null body', request: patch('null'), answers: sameFrom(notObject, 'gateway', 'profile') },
  { name: 'a number for a name', request: patch('{"first_name":5}'), answers: sameFrom(wrongType('first_name', 'a string or null'), 'gateway', 'profile') },
  { name: 'an object for a phone', request: patch('{"phone_number":{"$ne":1}}'), answers: sameFrom(wrongType('phone_number', 'a string or null'), 'gateway', 'profile') },
  { name: 'an infinite number', request: patch('{"first_name":1e999}'), answers: sameFrom(wrongType('first_name', 'a string or null'), 'gateway', 'profile') },
  { name: 'a key to escalate', request: patch('{"is_superuser":true}'), answers: sameFrom(unknownKey('is_superuser'), 'gateway', 'profile') },
  { name: 'a __proto__ key', request: patch('{"__proto__":{"is_superuser":true}}'), answers: sameFrom(unknownKey('__proto__'), 'gateway', 'profile') },
  { name: 'a constructor.prototype key', request: patch('{"constructor":{"prototype":{"is_superuser":true}}}'), answers: sameFrom(unknownKey('constructor'), 'gateway', 'profile') },
  { name: 'a nested __proto__ key', request: patch('{"first_name":"A","x":{"__proto__":{}}}'), answers: sameFrom(unknownKey('__proto__'), 'gateway', 'profile') },
  { name: 'nesting 10 000 deep', request: patch(nested(10_000)), answers: sameFrom(wrongType('first_name', 'a string or null'), 'gateway', 'profile') },
  { name: 'nesting 400 000 deep', request: patch(nested(400_000)), answers: sameFrom(wrongType('first_name', 'a string or null'), 'gateway', 'profile') },
  { name: 'a 2 MiB body', request: patch(`{"first_name":"${'a'.repeat(2 * MiB)}"}`), answers: { gateway: gatewayTooLarge(MiB), profile: jsonTooLarge } },
  {
    name: 'a 2 MiB chunked body',
    request: patch(`${(2 * MiB + 17).toString(16)}\r\n{"first_name":"${'a'.repeat(2 * MiB)}"}\r\n0\r\n\r\n`, { 'transfer-encoding': 'chunked' }),
    answers: { gateway: gatewayTooLarge(MiB), profile: jsonTooLarge }
  },
  { name: 'a 900 000 character name', request: patch(`{"first_name":"${'a'.repeat(900_000)}"}`), answers: sameFrom(invalid({ first_name: 'must not be more than 150 characters long' }), 'gateway', 'profile') },
  { name: 'a lone surrogate in a name', request: patch('{"first_name":"\\ud800"}'), answers: sameFrom(invalid({ first_name: 'must not contain control characters' }), 'gateway', 'profile') },
  { name: 'JSON sent as text/plain', request: patch('{"first_name":"B"}', { 'content-type': 'text/plain' }), answers: sameFrom(unsupported, 'gateway', 'profile') },
  {
    name: 'a body without a content type',
    request: (ctx) => rawRequest('PATCH', '/users/update-user/', { cookie: ctx.user.cookie }, '{"first_name":"B"}'),
    answers: sameFrom(unsupported, 'gateway', 'profile')
  },
  { name: 'a login with wrong types', request: post('/users/login/', '{"email":["a@example.com"],"password":1}'), answers: sameFrom(wrongType('email', 'a string'), 'gateway', 'profile') },
  { name: 'a login with a __proto__ key', request: post('/users/login/', '{"email":"a@example.com","password":"x","__proto__":{}}'), answers: sameFrom(unknownKey('__proto__'), 'gateway', 'profile') },
  { name: 'a login with a 10 000 character address', request: post('/users/login/', JSON.stringify({ email: `${'a'.repeat(10_000)}@example.com`, password: 'x' })), answers: sameFrom(invalid({ email: 'must not be more than 254 characters long' }), 'gateway', 'profile') },
  { name: 'a registration with an operator object', request: post('/users/register/', '{"email":"new@example.com","first_name":{"$gt":""},"last_name":"B","password":"long enough"}'), answers: sameFrom(wrongType('first_name', 'a string'), 'gateway', 'profile') },
  {
    name: 'an activation code as a number',
    request: () => rawRequest('PUT', `/users/activate/${randomUUID()}/`, { 'content-type': 'application/json' }, '{"token":123456}'),
    answers: sameFrom(wrongType('token', 'a string'), 'gateway', 'profile')
  }
]

const multipartCases: Case[] = [
  { name: 'multipart without a boundary', request: upload('multipart/form-data', form.body), answers: sameFrom(badMultipart, 'gateway', 'media') },
  {
    name: 'a quoted boundary (valid, RFC 2046)',
    request: upload('multipart/form-data; boundary="with space"', multipartForm([{ name: 'thumbnail', filename: 'q.png', contentType: 'image/png', data: PNG }], 'with space').body),
    answers: sameFrom({ status: 200, body: 'stored' }, 'gateway', 'media'),
    stores: (key, ctx) => expect(key).toMatch(keyOf(ctx.user.id, 'q\\.png'))
  },
  {
    name: 'a quoted boundary the body does not use',
    request: upload('multipart/form-data; boundary="other"', multipartForm([{ name: 'thumbnail', filename: 'q.png', data: PNG }], 'with space').body),
    answers: sameFrom(badMultipart, 'gateway', 'media')
  },
  { name: 'a boundary the body does not use', request: upload('multipart/form-data; boundary=zzz', form.body), answers: sameFrom(badMultipart, 'gateway', 'media') },
  { name: 'a body cut off before its closing boundary', request: upload(form.contentType, form.body.subarray(0, form.body.length - 20)), answers: sameFrom(media(400, 'UPLOAD_ABORTED', 'the upload ended before the file was complete'), 'gateway', 'media') },
  { name: 'a 20 000 byte part header', request: upload(form.contentType, withHeadLine(`X-Big: ${'a'.repeat(20_000)}\r\n`)), answers: sameFrom(missingFile, 'gateway', 'media') },
  { name: 'fifty part headers', request: upload(form.contentType, withHeadLine(Array.from({ length: 50 }, (_, i) => `X-${i}: a\r\n`).join(''))), answers: sameFrom(missingFile, 'gateway', 'media') },
  {
    name: 'five thousand fields',
    request: uploadOf(multipartForm([...Array.from({ length: 5000 }, (_, i) => ({ name: `f${i}`, data: 'x' })), { name: 'thumbnail', filename: 'a.png', data: PNG }])),
    answers: sameFrom(media(400, 'TOO_MANY_PARTS', 'the multipart body has too many parts'), 'gateway', 'media')
  },
  {
    name: 'two file parts',
    request: uploadOf(multipartForm([{ name: 'thumbnail', filename: 'a.png', data: PNG }, { name: 'thumbnail', filename: 'b.png', data: PNG }])),
    answers: sameFrom(media(400, 'TOO_MANY_FILES', 'the request must carry exactly one file part'), 'gateway', 'media')
  },
  { name: 'a file part of another name', request: uploadOf(multipartForm([{ name: 'avatar', filename: 'a.png', data: PNG }])), answers: sameFrom(missingFile, 'gateway', 'media') },
  { name: 'a __proto__ field', request: uploadOf(multipartForm([{ name: '__proto__', data: 'x' }, { name: 'thumbnail', filename: 'a.png', data: PNG }])), answers: sameFrom(badMultipart, 'gateway', 'media') },
  { name: 'a constructor field', request: uploadOf(multipartForm([{ name: 'constructor', data: 'x' }, { name: 'thumbnail', filename: 'a.png', data: PNG }])), answers: sameFrom(badMultipart, 'gateway', 'media') },
  {
    name: 'an SVG declared as PNG',
    request: uploadOf(multipartForm([{ name: 'thumbnail', filename: 'a.png', contentType: 'image/png', data: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' }])),
    answers: sameFrom(media(415, 'UNSUPPORTED_TYPE', 'the file must be a PNG, JPEG, WebP, GIF or AVIF image'), 'gateway', 'media')
  },
  { name: 'an empty file', request: uploadOf(multipartForm([{ name: 'thumbnail', filename: 'a.png', data: '' }])), answers: sameFrom(media(400, 'EMPTY_FILE', 'the uploaded file is empty'), 'gateway', 'media') },
  { name: 'a body declared as 50 MiB', request: upload(form.contentType, form.body, { 'content-length': 50 * MiB }), answers: { gateway: gatewayTooLarge(UPLOAD_BODY_LIMIT), media: uploadTooLarge } },
  { name: 'a 6 MiB file', request: uploadOf(thumbnailForm(pngOfSize(6 * MiB))), answers: { gateway: gatewayTooLarge(UPLOAD_BODY_LIMIT), media: uploadTooLarge } },
  { name: 'JSON to the upload route', request: upload('application/json', '{}'), answers: sameFrom(media(415, 'NOT_MULTIPART', 'the request must be multipart/form-data'), 'gateway', 'media') },
  {
    name: 'a 2 MiB upload without a session',
    request: () => { const big = thumbnailForm(pngOfSize(2 * MiB)); return rawRequest('POST', '/file/upload/', { 'content-type': big.contentType }, big.body) },
    answers: sameFrom(unauthenticated, 'gateway', 'media')
  },
  {
    name: 'a file name that climbs directories',
    request: uploadOf(multipartForm([{ name: 'thumbnail', filename: '../../etc/passwd', data: PNG }])),
    answers: sameFrom({ status: 200, body: 'stored' }, 'gateway', 'media'),
    stores: (key, ctx) => expect(key).toMatch(keyOf(ctx.user.id, 'passwd\\.png'))
  },
  { name: 'a urlencoded __proto__ key', request: remove('', { 'content-type': 'application/x-www-form-urlencoded' }, '__proto__=x'), answers: sameFrom(envelope(400, 'HTTP_UNKNOWN_KEY', 'body contains unknown key "__proto__"'), 'gateway', 'media') },
  { name: 'thumbnail_url twice in the query', request: remove('?thumbnail_url=a&thumbnail_url=b'), answers: sameFrom(badRequest('querystring thumbnail_url must be string'), 'gateway', 'media') },
  { name: 'a __proto__ query key', request: remove('?__proto__=x'), answers: sameFrom(badRequest('querystring must NOT have additional properties'), 'gateway', 'media') },
  {
    name: 'an encoded ../ in the query',
    request: remove('?thumbnail_url=%2E%2E%2Fsecret'),
    answers: { gateway: badPath, media: media(400, 'BAD_URL', 'thumbnail_url is not a URL issued by this service') }
  },
  {
    name: 'a URL that climbs into another user',
    request: deleteJson((ctx) => ({ thumbnail_url: `${ctx.publicUrl}thumbnails/${ctx.user.id}/../${otherKey(randomUUID())}` })),
    answers: sameFrom(media(400, 'BAD_URL', 'thumbnail_url is not a URL issued by this service'), 'gateway', 'media')
  },
  {
    name: 'another user\'s file',
    request: deleteJson((ctx) => ({ thumbnail_url: `${ctx.publicUrl}${otherKey(randomUUID())}` })),
    answers: sameFrom(media(403, 'FORBIDDEN', 'this file belongs to another user'), 'gateway', 'media')
  },
  { name: 'a JSON __proto__ key to delete', request: remove('', { 'content-type': 'application/json' }, '{"__proto__":{"x":1},"thumbnail_url":"a"}'), answers: sameFrom(unknownKey('__proto__'), 'gateway', 'media') },
  { name: 'a number for thumbnail_url', request: remove('', { 'content-type': 'application/json' }, '{"thumbnail_url":1}'), answers: sameFrom(wrongType('thumbnail_url', 'a string'), 'gateway', 'media') }
]

const manyHeaders = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`x-h${i}`, 'a']))
const headersTooLarge = envelope(431, 'HTTP_HEADERS_TOO_LARGE', 'the request headers are too large')
const cookieCases: Case[] = [
  { name: 'a 9 KiB junk cookie beside a live session', request: get('/users/current-user/', (ctx) => ({ cookie: `a=${'b'.repeat(9000)}; ${ctx.user.cookie}` })), answers: sameFrom({ status: 200, body: 'the user' }, 'gateway', 'profile') },
  { name: 'a 15 KiB junk cookie without a session, to media', request: () => rawRequest('DELETE', '/file/delete/?thumbnail_url=x', { cookie: `a=${'b'.repeat(15_000)}` }), answers: sameFrom(unauthenticated, 'gateway', 'media') },
  { name: 'two session cookies', request: get('/users/current-user/', (ctx) => ({ cookie: `${ctx.user.cookie}; sessionid=${'A'.repeat(43)}` })), answers: sameFrom(unauthenticated, 'gateway', 'profile') },
  { name: 'a well-formed unknown session', request: get('/users/current-user/', () => ({ cookie: `sessionid=${'A'.repeat(43)}` })), answers: sameFrom(unauthenticated, 'gateway', 'profile') },
  { name: 'a session id with an encoded NUL', request: get('/users/current-user/', () => ({ cookie: `sessionid=%00${'A'.repeat(40)}` })), answers: sameFrom(unauthenticated, 'gateway', 'profile') },
  { name: 'a session id with a Latin-1 byte', request: get('/users/current-user/', () => ({ cookie: `sessionid=\xe9${'A'.repeat(42)}` })), answers: sameFrom(unauthenticated, 'gateway', 'profile') },
  { name: 'cookie syntax soup', request: get('/users/current-user/', () => ({ cookie: ';;;=;sessionid;==;sessionid=;' })), answers: sameFrom(unauthenticated, 'gateway', 'profile') },
  { name: 'a 20 KiB header', request: get('/users/current-user/', () => ({ 'x-big': 'a'.repeat(20_000) })), answers: { gateway: envelope(431, 'GATEWAY_HEADERS_TOO_LARGE', 'the request headers are too large'), profile: headersTooLarge, media: headersTooLarge } },
  {
    name: 'fifteen hundred small headers after a live session cookie',
    request: get('/users/current-user/', (ctx) => ({ cookie: ctx.user.cookie, ...manyHeaders })),
    answers: sameFrom({ status: 200, body: 'the user' }, 'gateway', 'profile')
  },
  {
    // Node keeps the first thousand headers and drops the rest, the cookie with them.
    name: 'fifteen hundred small headers before a live session cookie',
    request: get('/users/current-user/', (ctx) => ({ ...manyHeaders, cookie: ctx.user.cookie })),
    answers: sameFrom(unauthenticated, 'gateway', 'profile')
  },
  { name: 'Content-Length with Transfer-Encoding (smuggling)', request: () => Buffer.from('POST /users/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'), answers: { gateway: gatewayMalformed, profile: malformed, media: malformed } },
  { name: 'a NUL byte in a header', request: () => Buffer.from('GET /users/current-user/ HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n'), answers: { gateway: gatewayMalformed, profile: malformed } },
  { name: 'no Host header', request: () => Buffer.from('GET /users/current-user/ HTTP/1.1\r\nConnection: close\r\n\r\n'), answers: sameFrom(envelope(400, 'HTTP_MISSING_HOST', 'the request must carry a Host header'), 'gateway', 'profile', 'media') },
  { name: 'a request line that is not HTTP', request: () => Buffer.from('HELLO\r\n\r\n'), answers: { gateway: gatewayMalformed, profile: malformed, media: malformed } }
]

const pathCases: Case[] = [
  { name: 'an encoded dot-dot segment', request: get('/users/%2e%2e/file/upload/'), answers: { gateway: badPath, profile: notFound } },
  { name: 'a dot-dot segment', request: get('/users/../file/upload/'), answers: { gateway: badPath, profile: notFound } },
  { name: 'an empty segment', request: get('/users//current-user/'), answers: { gateway: badPath, profile: notFound } },
  { name: 'an encoded NUL', request: get('/users/current-user/%00'), answers: { gateway: badPath, profile: notFound } },
  {
    name: 'a bad percent escape',
    request: get('/users/%zz/'),
    answers: { gateway: badPath, profile: envelope(400, 'HTTP_BAD_PATH', 'the request path is malformed') }
  },
  { name: 'the absolute form with another host', request: get('http://evil.example/users/current-user/'), answers: { gateway: badPath, profile: { status: 200, body: 'the user' } } },
  { name: 'a backslash for a slash', request: get('/users\\current-user/'), answers: sameFrom(notFound, 'gateway', 'profile') },
  { name: 'encoded slashes around dot-dot', request: get('/users/activate/%2f..%2f/'), answers: { gateway: badPath, profile: envelope(405, 'HTTP_METHOD_NOT_ALLOWED', 'the GET method is not supported for this resource') } },
  { name: 'an encoded backslash', request: get('/users/%5c../file/'), answers: { gateway: badPath, profile: notFound } },
  { name: 'a dot-dot-semicolon segment', request: get('/users/current-user/..;/'), answers: { gateway: badPath, profile: notFound } },
  { name: 'climbing out of /file/', request: get('/file/../users/current-user/'), answers: { gateway: badPath, media: notFound } },
  { name: 'OPTIONS *', request: () => Buffer.from('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), answers: sameFrom(notFound, 'gateway', 'profile') },
  {
    name: 'a 5000 character path parameter',
    request: () => rawRequest('PUT', `/users/activate/${'a'.repeat(5000)}/`, { 'content-type': 'application/json' }, '{"token":"123456"}'),
    answers: sameFrom(envelope(414, 'HTTP_URI_TOO_LONG', 'the request path is too long'), 'gateway', 'profile')
  }
]

describeRedis('hostile input, through the gateway and straight to each service', () => {
  const stack = useStack({ label: 'hostile' })
  const ctx = {} as Context
  let errorsBefore = 0
  let tried = 0
  // What the stack held before each input: the state after the one before it.
  let held: Awaited<ReturnType<typeof state>>

  beforeAll(async () => {
    ctx.user = await signedInUser(stack(), 'hostile@example.com')
    ctx.publicUrl = stack().publicUrl
    errorsBefore = stack().logs.errors
    held = await state(stack())
  })

  afterAll(() => {
    console.log(`[reliability] hostile inputs tried: ${tried}`)
  })

  async function check (target: Target, testCase: Case, expected: Expected): Promise<void> {
    const before = held
    try {
      const reply = await sendRaw(stack().urls[target], testCase.request(ctx))
      tried++

      const body = reply.status !== 200
        ? reply.body
        : testCase.stores !== undefined ? 'stored' : 'the user'
      expect({ status: reply.status, body }).toEqual(expected)
      if (ownCode.test(String((reply.body as { code?: unknown }).code))) {
        expect(reply.headers['content-type']).toBe(JSON_TYPE)
      }
      if (reply.status === 200 && testCase.stores === undefined) {
        expect((reply.body as { id: string }).id).toBe(ctx.user.id)
      }

      if (testCase.stores !== undefined) {
        const key = (reply.body as { key: string }).key
        testCase.stores(key, ctx)
        expect(await stack().s3.listObjects()).toEqual([...before.objects, key].sort())
        await stack().s3.client.send(new DeleteObjectCommand({ Bucket: stack().s3.bucket, Key: key }))
      }
    } finally {
      // A failed input must not make the next one compare with a stale state.
      held = await state(stack())
    }
    expect(held).toEqual(before)
  }

  for (const [group, cases] of [['JSON', json], ['multipart and delete', multipartCases],
    ['cookies and headers', cookieCases], ['paths', pathCases]] as const) {
    describe(group, () => {
      for (const testCase of cases) {
        for (const [target, expected] of Object.entries(testCase.answers) as Array<[Target, Expected]>) {
          it(`${testCase.name} → ${target}: ${expected.status}`, async () => {
            await check(target, testCase, expected)
          })
        }
      }
    })
  }

  it('left no error in any service log', () => {
    expect(stack().logs.problems.filter((line) => line.level >= 50)).toEqual([])
    expect(stack().logs.errors).toBe(errorsBefore)
  })
})
