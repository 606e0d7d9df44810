import { randomUUID } from 'node:crypto'
import { createMemorySessionStore, createRedisSessionStore, type SessionStore } from '@tessera/session'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayDeps } from '../src/app.js'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway, type RunningGateway } from './helpers.js'

const limited = (seconds: number) => ({ error: `rate limit exceeded, retry in ${seconds} seconds`, code: 'GATEWAY_RATE_LIMITED' })

const limits = {
  LOGIN_RATE_LIMIT: '2',
  ACCOUNT_RATE_LIMIT: '3',
  PASSWORD_RATE_LIMIT: '1',
  UPLOAD_RATE_LIMIT: '2',
  RATE_LIMIT_WINDOW: '60'
}

async function send (url: string, method: 'POST' | 'PUT', extra: Record<string, string> = {}) {
  const response = await request(url, { method, headers: { 'content-type': 'application/json', ...extra }, body: '{}' })
  return { status: response.statusCode, retryAfter: response.headers['retry-after'], type: response.headers['content-type'], body: await response.body.json() }
}

async function statuses (url: string, method: 'POST' | 'PUT', times: number, extra: Record<string, string> = {}) {
  const seen = []
  for (let i = 0; i < times; i++) seen.push((await send(url, method, extra)).status)
  return seen
}

/** The same behaviour whichever store counts. */
function rateLimitSuite (deps: () => { gateway: GatewayDeps, store: SessionStore }) {
  let profile: StandIn
  let media: StandIn
  let gateway: RunningGateway

  beforeAll(async () => {
    [profile, media] = await Promise.all([startStandIn('profile'), startStandIn('media')])
    gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url, ...limits }, deps().gateway)
  })

  afterAll(async () => {
    await gateway?.close()
    await Promise.all([profile?.close(), media?.close()])
  })

  it('limits logins per client address: 429 with Retry-After, never forwarded', async () => {
    const before = profile.received.length
    expect(await statuses(`${gateway.url}/users/login/`, 'POST', 2)).toEqual([200, 200])

    const refused = await send(`${gateway.url}/users/login`, 'POST')
    expect(refused).toEqual({ status: 429, retryAfter: '60', type: JSON_TYPE, body: limited(60) })
    expect(profile.received.length - before).toBe(2)
  })

  it('gives every limited route its own budget', async () => {
    expect(await statuses(`${gateway.url}/users/register/`, 'POST', 4)).toEqual([200, 200, 200, 429])
    expect(await statuses(`${gateway.url}/users/regenerate-token/`, 'POST', 4)).toEqual([200, 200, 200, 429])
    expect(await statuses(`${gateway.url}/users/activate/1/`, 'PUT', 2)).toEqual([200, 200])
    expect(await statuses(`${gateway.url}/users/activate/2/`, 'PUT', 2)).toEqual([200, 429])
    expect(await statuses(`${gateway.url}/users/password/request-password-change/`, 'POST', 2)).toEqual([200, 429])
    expect(await statuses(`${gateway.url}/users/password/change-user-password/9/`, 'PUT', 2)).toEqual([200, 429])
  })

  it('leaves other routes alone', async () => {
    expect(await statuses(`${gateway.url}/users/logout/`, 'POST', 5)).toEqual([200, 200, 200, 200, 200])
  })

  it('limits uploads per signed-in user, not per address', async () => {
    const store = deps().store
    const alice = { cookie: `sessionid=${await store.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })}` }
    const bob = { cookie: `sessionid=${await store.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })}` }

    expect(await statuses(`${gateway.url}/file/upload/`, 'POST', 3, alice)).toEqual([200, 200, 429])
    expect(await statuses(`${gateway.url}/file/upload/`, 'POST', 3, bob)).toEqual([200, 200, 429])
  })
}

describe('rate limits in process', () => {
  const store = createMemorySessionStore({ ttlSeconds: 60 })
  afterAll(async () => { await store.close?.() })

  rateLimitSuite(() => ({ gateway: { sessionStore: store }, store }))
})

describeRedis('rate limits in Redis', () => {
  const redis = useTestRedis()
  const deps = () => ({
    gateway: { redis: redis().client },
    store: createRedisSessionStore({ redis: redis().client, ttlSeconds: 60 })
  })

  rateLimitSuite(deps)

  it('keeps its counters under the client key prefix, shared by every gateway replica', async () => {
    const [profile, media] = await Promise.all([startStandIn('profile'), startStandIn('media')])
    // Behind a trusted proxy the client address comes from X-Forwarded-For: a fresh counter here.
    const env = {
      PROFILE_URL: profile.url, MEDIA_URL: media.url, ...limits, PASSWORD_RATE_LIMIT: '2', TRUST_PROXY: '127.0.0.1'
    }
    const first = await startGateway(env, { redis: redis().client })
    const second = await startGateway(env, { redis: redis().client })
    const client = { 'x-forwarded-for': '203.0.113.9' }
    try {
      const url = '/users/password/request-password-change/'
      expect(await statuses(`${first.url}${url}`, 'POST', 1, client)).toEqual([200])
      expect(await statuses(`${second.url}${url}`, 'POST', 2, client)).toEqual([200, 429])
      expect(await statuses(`${first.url}${url}`, 'POST', 1, { 'x-forwarded-for': '203.0.113.10' })).toEqual([200])

      const keys = await redis().keys()
      expect(keys).toContain('rate-limit:POST/users/password/*-203.0.113.9')
      expect(keys).toContain('rate-limit:POST/users/password/*-203.0.113.10')
      expect(keys).toContain('rate-limit:POST/users/login/-127.0.0.1')
      expect(keys.filter((key) => key.startsWith('rate-limit:POST/file/upload/-user:'))).toHaveLength(2)
    } finally {
      await Promise.all([first.close(), second.close()])
      await Promise.all([profile.close(), media.close()])
    }
  })
})
