import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { startGateway, type RunningGateway } from './helpers.js'

const corsHeaders = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-')))

describe('CORS', () => {
  let profile: StandIn
  let gateway: RunningGateway

  beforeAll(async () => {
    profile = await startStandIn('profile')
    gateway = await startGateway({
      PROFILE_URL: profile.url,
      MEDIA_URL: profile.url,
      CORS_ORIGINS: 'https://app.tessera.test, http://localhost:5173'
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await profile?.close()
  })

  it('allows a listed origin with credentials on proxied responses', async () => {
    const response = await request(`${gateway.url}/users/current-user/`, { headers: { origin: 'http://localhost:5173' } })
    await response.body.dump()

    expect(corsHeaders(response.headers)).toEqual({
      'access-control-allow-origin': 'http://localhost:5173',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id, retry-after'
    })
    expect(response.headers.vary).toBe('Origin')
  })

  it('answers a preflight from a listed origin itself', async () => {
    const before = profile.received.length
    const response = await request(`${gateway.url}/users/update-user/`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.tessera.test',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'content-type'
      }
    })
    await response.body.dump()

    expect(response.statusCode).toBe(204)
    expect(corsHeaders(response.headers)).toEqual({
      'access-control-allow-origin': 'https://app.tessera.test',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id, retry-after',
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'content-type'
    })
    expect(profile.received.length).toBe(before)
  })

  it('sends no CORS header at all to another origin, and leaves its preflight to the service', async () => {
    const simple = await request(`${gateway.url}/users/current-user/`, { headers: { origin: 'https://evil.test' } })
    await simple.body.dump()
    const preflight = await request(`${gateway.url}/users/update-user/`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.tessera.test.evil.test', 'access-control-request-method': 'PATCH' }
    })
    const body = await preflight.body.json() as { service: string, method: string }

    expect(corsHeaders(simple.headers)).toEqual({})
    expect(corsHeaders(preflight.headers)).toEqual({})
    // A real service answers it with its own 405 and Allow (proxy-methods.test.ts).
    expect([preflight.statusCode, body.service, body.method]).toEqual([200, 'profile', 'OPTIONS'])
  })

  it('drops CORS headers a service sets: the gateway alone decides, and merges Vary', async () => {
    const other = await request(`${gateway.url}/users/cors/`, { headers: { origin: 'https://evil.test' } })
    await other.body.dump()
    const listed = await request(`${gateway.url}/users/cors/`, { headers: { origin: 'https://app.tessera.test' } })
    await listed.body.dump()

    expect(corsHeaders(other.headers)).toEqual({})
    expect(other.headers.vary).toBe('Origin, Accept-Encoding')
    expect(corsHeaders(listed.headers)).toEqual({
      'access-control-allow-origin': 'https://app.tessera.test',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id, retry-after'
    })
  })

  it('leaves unknown paths a 404, though the preflight route matches every path', async () => {
    const response = await request(`${gateway.url}/nothing/here/`)

    expect([response.statusCode, response.headers.allow, await response.body.json()]).toEqual([404, undefined, {
      error: 'the requested resource could not be found', code: 'HTTP_NOT_FOUND'
    }])
  })

  it('answers a bad body on the preflight route with the error envelope', async () => {
    const response = await request(`${gateway.url}/nothing/x/`, {
      method: 'OPTIONS', headers: { 'content-type': 'application/json', 'content-length': '0' }
    })

    expect([response.statusCode, await response.body.json()]).toEqual([400, {
      error: 'body must not be empty', code: 'HTTP_BAD_REQUEST'
    }])
  })
})
