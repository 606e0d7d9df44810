import { getFreePort } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { startGateway, type RunningGateway } from './helpers.js'

const profileDocument = {
  openapi: '3.0.3',
  info: { title: 'profile', version: '1.0.0' },
  tags: [{ name: 'users' }],
  components: {
    schemas: { 'def-0': { type: 'object', properties: { email: { type: 'string' } } } },
    securitySchemes: { sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sessionid' } }
  },
  paths: {
    '/users/login/': {
      post: {
        tags: ['users'],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/def-0' } } } },
        responses: { 200: { description: 'ok' } }
      }
    },
    '/livez': { get: { responses: { 200: { description: 'ok' } } } }
  }
}

const mediaDocument = {
  openapi: '3.1.0',
  info: { title: 'media', version: '1.0.0' },
  tags: [{ name: 'users' }, { name: 'files' }],
  components: { schemas: { 'def-0': { type: 'object', properties: { s3_url: { type: 'string' } } } } },
  paths: {
    '/file/upload/': {
      post: {
        responses: {
          200: { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/def-0' } } } }
        }
      }
    },
    '/users/not-media/': { get: { responses: { 200: { description: 'ok' } } } }
  }
}

interface Doc {
  info: { title: string }
  paths: Record<string, any>
  components: { schemas: Record<string, unknown>, securitySchemes: Record<string, unknown> }
  tags?: Array<{ name: string }>
}

async function docsOf (url: string): Promise<Doc> {
  const response = await request(`${url}/docs/json`)
  expect(response.statusCode).toBe(200)
  return await response.body.json() as Doc
}

describe('/docs', () => {
  let profile: StandIn
  let media: StandIn
  let gateway: RunningGateway

  beforeAll(async () => {
    profile = await startStandIn('profile', { openapi: profileDocument })
    media = await startStandIn('media', { openapi: mediaDocument })
    gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url, DOCS_CACHE_SECONDS: '60' })
  })

  afterAll(async () => {
    await gateway?.close()
    await Promise.all([profile?.close(), media?.close()])
  })

  it('merges the services\' public paths with the gateway\'s own under one document', async () => {
    const doc = await docsOf(gateway.url)

    expect(doc.info.title).toBe('Tessera API')
    expect(Object.keys(doc.paths)).toEqual(['/healthcheck/', '/metrics/', '/users/login/', '/file/upload/'])
    expect(doc.paths['/users/login/'].post.requestBody.content['application/json'].schema)
      .toEqual({ $ref: '#/components/schemas/profile.def-0' })
    expect(doc.paths['/file/upload/'].post.responses['200'].content['application/json'].schema)
      .toEqual({ $ref: '#/components/schemas/media.def-0' })
    expect(doc.components.schemas['profile.def-0']).toEqual(profileDocument.components.schemas['def-0'])
    expect(doc.components.schemas['media.def-0']).toEqual(mediaDocument.components.schemas['def-0'])
    expect(doc.components.securitySchemes).toEqual({ sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sessionid' } })
    expect(doc.tags?.map((tag) => tag.name)).toEqual(['users', 'files'])
  })

  it('fetches the services\' documents once per cache period', async () => {
    const count = (service: StandIn) => service.received.filter((r) => r.url === '/openapi.json').length
    const before = [count(profile), count(media)]
    await docsOf(gateway.url)
    await docsOf(gateway.url)

    expect([count(profile), count(media)]).toEqual(before)
    expect(before).toEqual([1, 1])
  })

  it('serves the UI', async () => {
    const response = await request(`${gateway.url}/docs`)
    const html = await response.body.text()

    expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8'])
    expect(html).toContain('swagger-initializer.js')
  })
})

describe('/docs with a failing service', () => {
  it('serves what is available', async () => {
    const profile = await startStandIn('profile', { openapi: profileDocument })
    const media = await startStandIn('media', { openapi: { swagger: '2.0', paths: { '/file/x/': {} } } })
    const down = `http://127.0.0.1:${await getFreePort()}`
    const withDown = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: down })
    const withOld = await startGateway({ PROFILE_URL: down, MEDIA_URL: media.url })
    try {
      expect(Object.keys((await docsOf(withDown.url)).paths)).toEqual(['/healthcheck/', '/metrics/', '/users/login/'])
      expect(Object.keys((await docsOf(withOld.url)).paths)).toEqual(['/healthcheck/', '/metrics/'])
    } finally {
      await Promise.all([withDown.close(), withOld.close()])
      await Promise.all([profile.close(), media.close()])
    }
  })
})
