import { randomUUID } from 'node:crypto'
import { createMemorySessionStore } from '@tessera/session'
import { getFreePort } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VERSION } from '../src/app.js'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway, type RunningGateway } from './helpers.js'

const store = createMemorySessionStore({ ttlSeconds: 60 })
let profile: StandIn
let gateway: RunningGateway
let superuser: string
let member: string

beforeAll(async () => {
  superuser = `sessionid=${await store.create({ user_id: randomUUID(), is_staff: true, is_superuser: true })}`
  member = `sessionid=${await store.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })}`
  profile = await startStandIn('profile', { metricsCookie: superuser })
  gateway = await startGateway({
    PROFILE_URL: profile.url,
    MEDIA_URL: `http://127.0.0.1:${await getFreePort()}`
  }, { sessionStore: store })
})

afterAll(async () => {
  await gateway?.close()
  await profile?.close()
  await store.close?.()
})

const snapshotKeys = [
  'version', 'timestamp', 'goroutines', 'database', 'memstats', 'total_requests_received',
  'total_responses_sent', 'total_processing_time_μs', 'total_responses_sent_by_status', 'cmdline'
]

describe('GET /metrics/', () => {
  it('aggregates its own snapshot and each service\'s, with null for a service that is down', async () => {
    const response = await request(`${gateway.url}/metrics/`, { headers: { cookie: superuser } })
    const body = await response.body.json() as Record<string, unknown> & { services: Record<string, unknown> }

    expect([response.statusCode, response.headers['content-type']]).toEqual([200, JSON_TYPE])
    expect(Object.keys(body)).toEqual([...snapshotKeys, 'services'])
    expect(body.version).toBe(VERSION)
    expect(Object.keys(body.services)).toEqual(['gateway', 'profile', 'media'])
    expect(body.services.gateway).toEqual(Object.fromEntries(snapshotKeys.map((key) => [key, body[key]])))
    expect(body.services.profile).toEqual({
      version: 'profile-1.0.0', service: 'profile', total_requests_received: profile.received.length
    })
    expect(body.services.media).toBeNull()
    expect(profile.received.at(-1)?.headers.cookie).toBe(superuser)
  })

  it('is for superusers only', async () => {
    const anonymous = await request(`${gateway.url}/metrics/`)
    const signedIn = await request(`${gateway.url}/metrics/`, { headers: { cookie: member } })

    expect([anonymous.statusCode, await anonymous.body.json()]).toEqual([401, {
      error: 'you must be authenticated to access this resource', code: 'SESSION_REQUIRED'
    }])
    expect([signedIn.statusCode, await signedIn.body.json()]).toEqual([403, {
      error: 'your user account does not have the necessary permissions to access this resource', code: 'GUARD_FORBIDDEN'
    }])
  })
})

describe('Prometheus', () => {
  const seriesCount = (text: string, labels: Record<string, string>): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith('tessera_proxy_duration_seconds_count{') &&
      Object.entries(labels).every(([name, value]) => l.includes(`${name}="${value}"`)))
    return line === undefined ? undefined : Number(line.split(' ').at(-1))
  }

  it('times proxied requests by upstream and status', async () => {
    for (let i = 0; i < 3; i++) await (await request(`${gateway.url}/users/echo/${i}/`)).body.dump()
    await (await request(`${gateway.url}/users/status/?code=404`)).body.dump()
    await (await request(`${gateway.url}/file/x/`)).body.dump()

    const text = await gateway.app.tesseraMetrics.text()
    expect(seriesCount(text, { upstream: 'profile', status: '200', service: 'gateway' })).toBe(3)
    expect(seriesCount(text, { upstream: 'profile', status: '404' })).toBe(1)
    expect(seriesCount(text, { upstream: 'media', status: '503' })).toBe(1)
  })

  it('serves the text format on METRICS_PORT only, never through the gateway', async () => {
    const url = gateway.app.tesseraMetrics.url!
    const scrape = await request(url)
    const text = await scrape.body.text()
    const routed = await request(`${gateway.url}/metrics`)

    expect(new URL(url).port).not.toBe(new URL(gateway.url).port)
    expect(scrape.statusCode).toBe(200)
    expect(text).toContain('# TYPE tessera_proxy_duration_seconds histogram')
    expect([routed.statusCode, routed.headers['content-type']]).toEqual([401, JSON_TYPE])
    await routed.body.dump()
  })
})
