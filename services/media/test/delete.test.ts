import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { PREFIX, useMediaApp } from './helpers.js'
import { multipart, thumbnail, type Part } from './http.js'
import * as images from './storage/fixtures/images.js'

const ctx = useMediaApp()

async function uploaded (cookie: string): Promise<{ s3_url: string, key: string }> {
  const form = multipart([thumbnail(images.png())])
  const response = await request(`${ctx.url()}/file/upload/`, {
    method: 'POST',
    headers: { cookie, 'content-type': form.contentType },
    body: form.body
  })
  expect(response.statusCode).toBe(200)
  return await response.body.json() as { s3_url: string, key: string }
}

interface Sent {
  query?: Record<string, string>
  contentType?: string
  body?: string | Buffer
}

async function remove (cookie: string | undefined, sent: Sent) {
  const headers: Record<string, string> = {}
  if (cookie !== undefined) headers.cookie = cookie
  if (sent.contentType !== undefined) headers['content-type'] = sent.contentType

  const response = await request(`${ctx.url()}/file/delete/`, {
    method: 'DELETE',
    headers,
    query: sent.query,
    body: sent.body
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}

function form (parts: Part[]): Sent {
  const { body, contentType } = multipart(parts)
  return { body, contentType }
}

const forms: Array<[string, (url: string) => Sent]> = [
  ['the query string', (url) => ({ query: { thumbnail_url: url } })],
  ['a JSON body', (url) => ({ contentType: 'application/json', body: JSON.stringify({ thumbnail_url: url }) })],
  ['an urlencoded body', (url) => ({
    contentType: 'application/x-www-form-urlencoded',
    body: new URLSearchParams({ thumbnail_url: url }).toString()
  })],
  ['a multipart field', (url) => form([{ name: 'thumbnail_url', value: url }])]
]

describe.each(forms)('DELETE /file/delete/ with thumbnail_url in %s', (_, as) => {
  it('deletes the caller\'s own file with an empty 204, then says 404', async () => {
    const { userId, cookie } = await ctx.signIn()
    const { s3_url: url, key } = await uploaded(cookie)

    const deleted = await remove(cookie, as(url))

    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(await ctx.s3().listObjects(`${PREFIX}${userId}/`)).toEqual([])

    const again = await remove(cookie, as(url))
    expect(again.status).toBe(404)
    expect(again.json()).toEqual({ error: 'the file could not be found', code: 'MEDIA_NOT_FOUND' })
    expect(key).toMatch(new RegExp(`^${PREFIX}${userId}/`))
  })

  it('refuses another user\'s file with 403 and keeps it', async () => {
    const owner = await ctx.signIn()
    const other = await ctx.signIn()
    const { s3_url: url, key } = await uploaded(owner.cookie)

    const response = await remove(other.cookie, as(url))

    expect(response.status).toBe(403)
    expect(response.json()).toEqual({ error: 'this file belongs to another user', code: 'MEDIA_FORBIDDEN' })
    expect(await ctx.s3().listObjects(`${PREFIX}${owner.userId}/`)).toEqual([key])
  })

  it('refuses a URL that is not ours with 400', async () => {
    const { cookie } = await ctx.signIn()
    const { s3_url: url } = await uploaded(cookie)

    const response = await remove(cookie, as(url.replace('127.0.0.1', 'localhost')))

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({
      error: 'thumbnail_url is not a URL issued by this service',
      code: 'MEDIA_BAD_URL'
    })
  })

  it('says 401 without a session', async () => {
    const { cookie } = await ctx.signIn()
    const { s3_url: url } = await uploaded(cookie)

    const response = await remove(undefined, as(url))

    expect(response.status).toBe(401)
    expect(response.json().code).toBe('SESSION_REQUIRED')
  })

  it('refuses an empty value', async () => {
    const { cookie } = await ctx.signIn()

    const response = await remove(cookie, as(''))

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({ error: 'thumbnail_url must be given', code: 'MEDIA_MISSING_URL' })
  })
})

describe('DELETE /file/delete/ refuses as not ours', () => {
  it.each([
    ['another scheme', (url: string) => url.replace('http://', 'https://')],
    ['another port', (url: string) => url.replace(/:(\d+)\//, (_, port) => `:${Number(port) + 1}/`)],
    ['another bucket', (url: string) => url.replace('/tessera-test/', '/other-bucket/')],
    ['another prefix', (url: string) => url.replace('/thumbnails/', '/avatars/')],
    ['a query', (url: string) => `${url}?x=1`],
    ['a fragment', (url: string) => `${url}#x`],
    ['credentials', (url: string) => url.replace('http://', 'http://user:pass@')],
    ['a dot segment', (url: string) => url.replace('/thumbnails/', '/thumbnails/../thumbnails/')],
    ['an encoded slash', (url: string) => url.replace(/\/([^/]+)$/, '%2F$1')],
    ['a lower-case escape', (url: string) => url.replace(/_/, '%5f')],
    ['a trailing slash', (url: string) => `${url}/`],
    ['a path without the file', (url: string) => url.replace(/\/[^/]+$/, '/')],
    ['not a URL', () => 'not a url'],
    ['a javascript: URL', () => 'javascript:alert(1)']
  ])('%s', async (_, change) => {
    const { cookie } = await ctx.signIn()
    const { s3_url: url } = await uploaded(cookie)

    const response = await remove(cookie, { query: { thumbnail_url: change(url) } })

    expect(response.status).toBe(400)
    expect(response.json().code).toBe('MEDIA_BAD_URL')
  })
})

describe('DELETE /file/delete/ refuses a malformed request', () => {
  it('without thumbnail_url', async () => {
    const { cookie } = await ctx.signIn()

    const response = await remove(cookie, {})

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({ error: 'thumbnail_url must be given', code: 'MEDIA_MISSING_URL' })
  })

  it('with thumbnail_url twice, in the query and the body', async () => {
    const { cookie } = await ctx.signIn()
    const { s3_url: url } = await uploaded(cookie)

    const response = await remove(cookie, {
      query: { thumbnail_url: url },
      contentType: 'application/json',
      body: JSON.stringify({ thumbnail_url: url })
    })

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({ error: 'thumbnail_url must be given only once', code: 'HTTP_BAD_REQUEST' })
  })

  it.each([
    ['an unknown JSON key', { contentType: 'application/json', body: '{"thumbnail_url":"x","extra":1}' },
      { error: 'body contains unknown key "extra"', code: 'HTTP_UNKNOWN_KEY' }],
    ['a JSON number', { contentType: 'application/json', body: '{"thumbnail_url":1}' },
      { error: 'body contains incorrect JSON type for "thumbnail_url": must be a string', code: 'HTTP_BAD_REQUEST' }],
    ['a JSON array', { contentType: 'application/json', body: '[]' },
      { error: 'body must be an object', code: 'HTTP_BAD_REQUEST' }],
    ['bad JSON', { contentType: 'application/json', body: '{"thumbnail_url":' },
      { error: 'body contains badly-formed JSON', code: 'HTTP_INVALID_JSON' }],
    ['an unknown query key', { query: { thumbnail_url: 'x', other: 'y' } },
      { error: 'querystring must NOT have additional properties', code: 'HTTP_BAD_REQUEST' }],
    ['an unknown urlencoded key', { contentType: 'application/x-www-form-urlencoded', body: 'thumbnail_url=x&a=b' },
      { error: 'body contains unknown key "a"', code: 'HTTP_UNKNOWN_KEY' }],
    ['an urlencoded __proto__ key', { contentType: 'application/x-www-form-urlencoded', body: '__proto__=x' },
      { error: 'body contains unknown key "__proto__"', code: 'HTTP_UNKNOWN_KEY' }],
    ['an urlencoded key twice', { contentType: 'application/x-www-form-urlencoded', body: 'thumbnail_url=a&thumbnail_url=b' },
      { error: 'body contains "thumbnail_url" more than once', code: 'HTTP_BAD_REQUEST' }],
    ['a multipart file part', form([thumbnail(images.png())]),
      { error: 'the request must not carry a file part', code: 'HTTP_BAD_REQUEST' }],
    ['an unknown multipart field', form([{ name: 'thumbnail_url', value: 'x' }, { name: 'other', value: 'y' }]),
      { error: 'body contains unknown key "other"', code: 'HTTP_UNKNOWN_KEY' }],
    ['thumbnail_url twice in multipart', form([{ name: 'thumbnail_url', value: 'a' }, { name: 'thumbnail_url', value: 'b' }]),
      { error: 'thumbnail_url must be given only once', code: 'HTTP_BAD_REQUEST' }],
    ['multipart without a boundary', { contentType: 'multipart/form-data', body: 'x' },
      { error: 'the multipart body is malformed', code: 'MEDIA_BAD_MULTIPART' }]
  ])('with %s', async (_, sent, expected) => {
    const { cookie } = await ctx.signIn()

    const response = await remove(cookie, sent)

    expect(response.status).toBe(400)
    expect(response.json()).toEqual(expected)
  })

  it.each([
    ['text/plain', 'thumbnail_url=x'],
    ['application/xml', '<thumbnail_url/>']
  ])('with a %s body as unsupported', async (contentType, body) => {
    const { cookie } = await ctx.signIn()

    const response = await remove(cookie, { contentType, body })

    expect(response.status).toBe(415)
    expect(response.json()).toEqual({ error: 'unsupported content type', code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' })
  })

  it('with an urlencoded body over 16 KiB', async () => {
    const { cookie } = await ctx.signIn()

    const response = await remove(cookie, {
      contentType: 'application/x-www-form-urlencoded',
      body: `thumbnail_url=${'a'.repeat(17 * 1024)}`
    })

    expect(response.status).toBe(413)
    // The message is @tessera/http's: it names the app-wide limit, not this parser's (reported).
    expect(response.json().code).toBe('HTTP_PAYLOAD_TOO_LARGE')
  })
})
