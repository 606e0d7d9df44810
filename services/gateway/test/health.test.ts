import { readFile } from 'node:fs/promises'
import { describeRedis, getFreePort, useTestRedis } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway } from './helpers.js'

async function get (url: string) {
  const response = await request(url)
  return { status: response.statusCode, type: response.headers['content-type'], text: await response.body.text() }
}

let profile: StandIn
let media: StandIn
let deadUrl: string

beforeAll(async () => {
  [profile, media] = await Promise.all([startStandIn('profile'), startStandIn('media')])
  deadUrl = `http://127.0.0.1:${await getFreePort()}`
})

afterAll(async () => {
  await Promise.all([profile?.close(), media?.close()])
})

describe('GET /healthcheck/', () => {
  it('reports status, DEBUG as a string and the package version, exactly', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    const quiet = await startGateway({ PROFILE_URL: deadUrl, MEDIA_URL: deadUrl })
    const debug = await startGateway({ PROFILE_URL: deadUrl, MEDIA_URL: deadUrl, DEBUG: 'true' })
    try {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/)
      expect(await get(`${quiet.url}/healthcheck/`)).toEqual({
        status: 200, type: JSON_TYPE, text: `{"status":"available","debug":"false","version":"${version}"}`
      })
      expect((await get(`${debug.url}/healthcheck`)).text).toBe(`{"status":"available","debug":"true","version":"${version}"}`)
    } finally {
      await Promise.all([quiet.close(), debug.close()])
    }
  })
})

describe('/livez and /readyz', () => {
  it('is ready when a replica of each service is live', async () => {
    const gateway = await startGateway({ PROFILE_URL: `${deadUrl},${profile.url}`, MEDIA_URL: media.url })
    try {
      expect(await get(`${gateway.url}/livez`)).toEqual({ status: 200, type: JSON_TYPE, text: '{"status":"ok"}' })
      expect(JSON.parse((await get(`${gateway.url}/readyz`)).text)).toEqual({
        status: 'ready', checks: { profile: 'ok', media: 'ok' }
      })
    } finally {
      await gateway.close()
    }
  })

  it('is not ready while a service has no live replica, and still live', async () => {
    const gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: deadUrl })
    try {
      const ready = await get(`${gateway.url}/readyz`)
      expect({ status: ready.status, body: JSON.parse(ready.text) }).toEqual({
        status: 503, body: { status: 'unavailable', checks: { profile: 'ok', media: 'unavailable' } }
      })
      expect((await get(`${gateway.url}/livez`)).status).toBe(200)
    } finally {
      await gateway.close()
    }
  })
})

describeRedis('/readyz with Redis', () => {
  const redis = useTestRedis()

  it('checks Redis too', async () => {
    const gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url }, { redis: redis().client })
    try {
      expect(JSON.parse((await get(`${gateway.url}/readyz`)).text)).toEqual({
        status: 'ready', checks: { profile: 'ok', media: 'ok', redis: 'ok' }
      })
    } finally {
      await gateway.close()
    }
  })

  it('creates its own client from REDIS_URL when none is given', async () => {
    const gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url, REDIS_URL: redis().url })
    const ready = JSON.parse((await get(`${gateway.url}/readyz`)).text) as { checks: Record<string, string> }
    await gateway.close()

    expect(ready.checks.redis).toBe('ok')
  })
})
