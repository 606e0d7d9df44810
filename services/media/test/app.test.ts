import { randomUUID } from 'node:crypto'
import { createMemorySessionStore } from '@tessera/session'
import { startS3Server, type TestS3Server } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import packageJson from '../package.json' with { type: 'json' }
import { buildApp, VERSION } from '../src/app.js'
import { bucketReachable } from '../src/storage/s3-client.js'
import { mediaConfig, metricValue, useMediaApp } from './helpers.js'
import { multipart, thumbnail } from './http.js'
import * as images from './storage/fixtures/images.js'

const ctx = useMediaApp()

async function get (path: string, headers: Record<string, string> = {}) {
  const response = await request(`${ctx.url()}${path}`, { headers })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}

async function uploadPng (cookie: string) {
  const form = multipart([thumbnail(images.png())])
  const response = await request(`${ctx.url()}/file/upload/`, {
    method: 'POST',
    headers: { cookie, 'content-type': form.contentType },
    body: form.body
  })
  await response.body.dump()
  return response.statusCode
}

describe('routes', () => {
  it.each([
    ['GET', '/file/upload/', 'POST'],
    ['PUT', '/file/upload', 'POST'],
    ['GET', '/file/delete/', 'DELETE'],
    ['POST', '/file/delete/', 'DELETE']
  ])('%s %s is 405 with Allow: %s, before any session check', async (method, path, allow) => {
    const response = await request(`${ctx.url()}${path}`, { method: method as 'GET' })

    expect(response.statusCode).toBe(405)
    expect(response.headers.allow).toBe(allow)
    expect(await response.body.json()).toEqual({
      error: `the ${method} method is not supported for this resource`,
      code: 'HTTP_METHOD_NOT_ALLOWED'
    })
  })

  it('answers an unknown path with 404', async () => {
    const response = await get('/file/elsewhere/')

    expect(response.status).toBe(404)
    expect(response.json()).toEqual({ error: 'the requested resource could not be found', code: 'HTTP_NOT_FOUND' })
  })

  it('accepts both routes without their trailing slash', async () => {
    const { cookie } = await ctx.signIn()
    const form = multipart([thumbnail(images.png())])

    const response = await request(`${ctx.url()}/file/upload`, {
      method: 'POST',
      headers: { cookie, 'content-type': form.contentType },
      body: form.body
    })
    const { s3_url: url } = await response.body.json() as { s3_url: string }
    const deleted = await request(`${ctx.url()}/file/delete`, { method: 'DELETE', headers: { cookie }, query: { thumbnail_url: url } })

    expect([response.statusCode, deleted.statusCode]).toEqual([200, 204])
    await deleted.body.dump()
  })
})

describe('health', () => {
  it('is live', async () => {
    const response = await get('/livez')

    expect(response.status).toBe(200)
    expect(response.json()).toEqual({ status: 'ok' })
  })

  it('is ready when the bucket answers', async () => {
    const response = await get('/readyz')

    expect(response.status).toBe(200)
    expect(response.json()).toEqual({ status: 'ready', checks: { s3: 'ok' } })
  })
})

describe('metrics', () => {
  it('counts stored bytes, upload durations and failures by reason on the Prometheus port', async () => {
    const { cookie } = await ctx.signIn()
    const url = ctx.app().tesseraMetrics.url
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const before = await (await request(url!)).body.text()

    expect(await uploadPng(cookie)).toBe(200)
    const form = multipart([thumbnail(images.SVG)])
    const refused = await request(`${ctx.url()}/file/upload/`, {
      method: 'POST', headers: { cookie, 'content-type': form.contentType }, body: form.body
    })
    await refused.body.dump()

    const after = await (await request(url!)).body.text()
    const change = (name: string, labels: Record<string, string>) =>
      metricValue(after, name, { service: 'media', ...labels }) - metricValue(before, name, { service: 'media', ...labels })
    expect(change('tessera_upload_bytes_total', {})).toBe(images.png().length)
    expect(change('tessera_upload_duration_seconds_count', { outcome: 'stored' })).toBe(1)
    expect(change('tessera_upload_duration_seconds_count', { outcome: 'failed' })).toBe(1)
    expect(change('tessera_upload_failures_total', { reason: 'unsupported_type' })).toBe(1)
    expect(change('http_request_duration_seconds_count', { route: '/file/upload/', status_code: '200' })).toBe(1)
  })

  it('serves the superuser snapshot at /metrics/, and nobody else', async () => {
    const user = await ctx.signIn()
    const superuserId = await ctx.store.create({ user_id: randomUUID(), is_staff: true, is_superuser: true })

    const anonymous = await get('/metrics/')
    const forbidden = await get('/metrics/', { cookie: user.cookie })
    const allowed = await get('/metrics/', { cookie: `sessionid=${superuserId}` })

    expect([anonymous.status, forbidden.status, allowed.status]).toEqual([401, 403, 200])
    expect(allowed.json()).toMatchObject({ version: packageJson.version, total_requests_received: expect.any(Number) })
  })
})

describe('GET /openapi.json', () => {
  it('describes both routes from their schemas, and hides the rest', async () => {
    const response = await get('/openapi.json')

    expect(response.status).toBe(200)
    const document = response.json()
    expect(document).toMatchObject({
      openapi: '3.0.3',
      info: { title: 'Tessera media', version: VERSION },
      components: { securitySchemes: { sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sessionid' } } }
    })
    expect(Object.keys(document.paths).sort()).toEqual(['/file/delete/', '/file/upload/'])

    const upload = document.paths['/file/upload/'].post
    expect(upload.security).toEqual([{ sessionCookie: [] }])
    expect(Object.keys(upload.requestBody.content)).toEqual(['multipart/form-data'])
    expect(upload.requestBody.content['multipart/form-data'].schema.properties.thumbnail)
      .toMatchObject({ type: 'string', format: 'binary' })
    expect(Object.keys(upload.responses['200'].content['application/json'].schema.properties))
      .toEqual(['s3_url', 'key', 'size', 'content_type'])
    expect(Object.keys(upload.responses)).toEqual(['200', '4XX', '5XX'])

    const remove = document.paths['/file/delete/'].delete
    expect(Object.keys(remove.requestBody.content).sort())
      .toEqual(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'])
    expect(remove.parameters).toEqual([expect.objectContaining({ in: 'query', name: 'thumbnail_url', required: false })])
    expect(Object.keys(remove.responses)).toEqual(['204', '4XX', '5XX'])
  })
})

describe('operations', () => {
  it('name every request in the log line of its response', async () => {
    const s3 = ctx.s3()
    const store = createMemorySessionStore({ ttlSeconds: 60 })
    const lines: Array<Record<string, unknown>> = []
    const app = await buildApp(mediaConfig(s3), {
      s3: s3.client,
      sessionStore: store,
      logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } }
    })
    const cookie = `sessionid=${await store.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })}`
    const form = multipart([thumbnail(images.png())])

    const uploaded = await app.inject({
      method: 'POST',
      url: '/file/upload/',
      headers: { cookie, 'content-type': form.contentType },
      payload: form.body
    })
    await app.inject({ method: 'DELETE', url: '/file/delete/', headers: { cookie }, query: { thumbnail_url: uploaded.json().s3_url } })
    await app.close()
    await store.close?.()

    const completed = lines.filter((line) => line.msg === 'request completed')
    expect(completed.map((line) => [line.operation, line.statusCode])).toEqual([['media.upload', 200], ['media.delete', 204]])
  })
})

describe('when S3 cannot be reached', () => {
  it('answers uploads and deletes with a bare 500 and is not ready', async () => {
    const store = createMemorySessionStore({ ttlSeconds: 60 })
    const userId = randomUUID()
    const cookie = `sessionid=${await store.create({ user_id: userId, is_staff: false, is_superuser: false })}`
    const app = await buildApp(mediaConfig(ctx.s3(), { S3_ENDPOINT: 'http://127.0.0.1:9' }), {
      sessionStore: store,
      logger: false
    })
    const form = multipart([thumbnail(images.png())])
    const url = `${ctx.s3().endpoint}/${ctx.s3().bucket}/thumbnails/${userId}/01HZX3N5R8V7QK2M4T6W9Y0ABC_a.png`

    const uploaded = await app.inject({
      method: 'POST',
      url: '/file/upload/',
      headers: { cookie, 'content-type': form.contentType },
      payload: form.body
    })
    const deleted = await app.inject({ method: 'DELETE', url: '/file/delete/', headers: { cookie }, query: { thumbnail_url: url } })
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    await app.close()
    await store.close?.()

    const failure = { error: 'the server encountered a problem and could not process your request', code: 'MEDIA_STORAGE_FAILED' }
    expect([uploaded.statusCode, uploaded.json()]).toEqual([500, failure])
    expect([deleted.statusCode, deleted.json()]).toEqual([500, failure])
    expect([ready.statusCode, ready.json()]).toEqual([503, { status: 'unavailable', checks: { s3: 'unavailable' } }])
  })
})

describe('S3_CREATE_BUCKET', () => {
  let s3: TestS3Server

  beforeAll(async () => {
    s3 = await startS3Server()
  })

  afterAll(async () => {
    await s3.close()
  })

  it('creates a missing bucket at start, and starts again when it exists', async () => {
    const config = mediaConfig(s3, { S3_BUCKET: 'made-at-start', S3_CREATE_BUCKET: 'true' })
    expect(await bucketReachable(s3.client, 'made-at-start')).toBe(false)

    for (let i = 0; i < 2; i++) {
      const app = await buildApp(config, { s3: s3.client, logger: false })
      const ready = await app.inject({ method: 'GET', url: '/readyz' })
      await app.close()

      expect(ready.json()).toEqual({ status: 'ready', checks: { s3: 'ok' } })
    }
  })

  it('is off by default: a missing bucket makes the app unready', async () => {
    const app = await buildApp(mediaConfig(s3, { S3_BUCKET: 'never-made' }), { s3: s3.client, logger: false })

    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    await app.close()

    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({ status: 'unavailable', checks: { s3: 'unavailable' } })
    expect(await bucketReachable(s3.client, 'never-made')).toBe(false)
  })
})
