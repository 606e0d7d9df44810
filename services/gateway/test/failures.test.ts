import { createHash, randomBytes } from 'node:crypto'
import { getFreePort } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway, type RunningGateway } from './helpers.js'

const unavailable = { error: 'the service is temporarily unavailable, please try again later', code: 'GATEWAY_UPSTREAM_UNAVAILABLE' }
const timedOut = { error: 'the service did not respond in time', code: 'GATEWAY_UPSTREAM_TIMEOUT' }
const badGateway = { error: 'the service sent an invalid response', code: 'GATEWAY_BAD_GATEWAY' }

async function outcome (url: string, options: Parameters<typeof request>[1] = {}) {
  const response = await request(url, options)
  const text = await response.body.text()
  return {
    status: response.statusCode,
    type: response.headers['content-type'],
    length: response.headers['content-length'],
    cookie: response.headers['set-cookie'],
    body: JSON.parse(text) as unknown,
    bytes: String(Buffer.byteLength(text))
  }
}

describe('a failing service', () => {
  let profile: StandIn
  let gateway: RunningGateway
  let deadUrl: string

  beforeAll(async () => {
    profile = await startStandIn('profile')
    deadUrl = `http://127.0.0.1:${await getFreePort()}`
    gateway = await startGateway({
      PROFILE_URL: profile.url,
      MEDIA_URL: deadUrl,
      UPSTREAM_TIMEOUT_MS: '300',
      UPLOAD_TIMEOUT_MS: '1500'
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await profile?.close()
  })

  it('that refuses connections is a 503', async () => {
    const result = await outcome(`${gateway.url}/file/anything/`)

    expect(result).toMatchObject({ status: 503, type: JSON_TYPE, body: unavailable })
    expect(result.length).toBe(result.bytes)
  })

  it('that refuses an upload is a 503 whose body stays unread', async () => {
    const result = await outcome(`${gateway.url}/file/upload/`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: randomBytes(1024)
    })

    expect(result).toMatchObject({ status: 503, type: JSON_TYPE, body: unavailable })
  })

  it('that never answers hits the route timeout: 504', async () => {
    const result = await outcome(`${gateway.url}/users/hang/`)

    expect(result).toMatchObject({ status: 504, type: JSON_TYPE, body: timedOut })
  })

  it('that stalls after its headers is a 504 without any of those headers', async () => {
    const result = await outcome(`${gateway.url}/users/headers-then-hang/`)

    expect(result).toMatchObject({ status: 504, type: JSON_TYPE, body: timedOut })
    expect(result.cookie).toBeUndefined()
    expect(result.length).toBe(result.bytes)
  })

  it('that resets the connection before answering is a 502', async () => {
    expect(await outcome(`${gateway.url}/users/reset/`)).toMatchObject({ status: 502, type: JSON_TYPE, body: badGateway })
  })

  it('that answers with something that is not HTTP is a 502', async () => {
    expect(await outcome(`${gateway.url}/users/garbage/`)).toMatchObject({ status: 502, type: JSON_TYPE, body: badGateway })
  })

  it('that breaks off mid-body destroys the client connection, and the gateway carries on', async () => {
    const response = await request(`${gateway.url}/users/partial/`)

    expect(response.statusCode).toBe(200)
    await expect(response.body.arrayBuffer()).rejects.toThrow()
    const health = await request(`${gateway.url}/healthcheck/`)
    expect(health.statusCode).toBe(200)
    await health.body.dump()
  })
})

describe('timeouts', () => {
  let profile: StandIn
  let media: StandIn
  let gateway: RunningGateway

  beforeAll(async () => {
    [profile, media] = await Promise.all([startStandIn('profile'), startStandIn('media')])
    gateway = await startGateway({
      PROFILE_URL: profile.url, MEDIA_URL: media.url, UPSTREAM_TIMEOUT_MS: '300', UPLOAD_TIMEOUT_MS: '3000'
    })
  })

  afterAll(async () => {
    await gateway?.close()
    await Promise.all([profile?.close(), media?.close()])
  })

  const timed = async (path: string, options: Parameters<typeof request>[1]) => {
    const started = Date.now()
    const result = await outcome(`${gateway.url}${path}`, options)
    return { status: result.status, body: result.body, ms: Date.now() - started }
  }

  it('are per route: an upload to a hanging service waits for the upload timeout', async () => {
    const hang = { method: 'POST' as const, headers: { 'content-type': 'text/plain', 'x-stand-in': 'hang' }, body: 'x' }
    const ordinary = await timed('/file/other/', hang)
    const upload = await timed('/file/upload/', hang)

    expect([ordinary.status, ordinary.body, upload.status, upload.body]).toEqual([504, timedOut, 504, timedOut])
    // Which of the two timeouts (300 ms, 3000 ms) ended each request; undici's timers tick
    // about every half second, so the short one may run up to a second late.
    expect(ordinary.ms).toBeLessThan(2500)
    expect(upload.ms).toBeGreaterThanOrEqual(2900)
  })
})

describe('replicas', () => {
  let a: StandIn
  let b: StandIn
  let media: StandIn
  let deadUrl: string

  beforeAll(async () => {
    [a, b, media] = await Promise.all([startStandIn('profile-a'), startStandIn('profile-b'), startStandIn('media')])
    deadUrl = `http://127.0.0.1:${await getFreePort()}`
  })

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), media?.close()])
  })

  const serviceOf = async (url: string, options: Parameters<typeof request>[1] = {}) => {
    const response = await request(url, options)
    const body = await response.body.json() as { service?: string, body?: { sha256: string }, error?: string }
    return { status: response.statusCode, service: body.service, sha256: body.body?.sha256 }
  }

  it('take turns, round-robin, per request', async () => {
    const gateway = await startGateway({ PROFILE_URL: `${a.url}, ${b.url}/`, MEDIA_URL: media.url })
    try {
      const seen = []
      for (let i = 0; i < 4; i++) seen.push((await serviceOf(`${gateway.url}/users/who/`)).service)
      expect(seen).toEqual(['profile-a', 'profile-b', 'profile-a', 'profile-b'])
    } finally {
      await gateway.close()
    }
  })

  it('move an idempotent request on to the next replica when one refuses the connection', async () => {
    const gateway = await startGateway({ PROFILE_URL: `${deadUrl},${a.url}`, MEDIA_URL: media.url })
    try {
      const body = randomBytes(256 * 1024)
      const first = await serviceOf(`${gateway.url}/users/who/`)
      const second = await serviceOf(`${gateway.url}/users/who/`)
      const put = await serviceOf(`${gateway.url}/users/activate/abc/`, {
        method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body
      })

      expect(first).toEqual({ status: 200, service: 'profile-a', sha256: createHash('sha256').digest('hex') })
      expect(second.service).toBe('profile-a')
      expect(put).toEqual({ status: 200, service: 'profile-a', sha256: createHash('sha256').update(body).digest('hex') })
    } finally {
      await gateway.close()
    }
  })

  it('never resend a POST: a refused one is a 503, the next one goes to the next replica', async () => {
    const gateway = await startGateway({ PROFILE_URL: `${deadUrl},${a.url}`, MEDIA_URL: media.url })
    try {
      const before = a.received.length
      const refused = await request(`${gateway.url}/users/login/`, { method: 'POST', body: '{}' })
      const next = await serviceOf(`${gateway.url}/users/login/`, { method: 'POST', body: '{}' })

      expect([refused.statusCode, await refused.body.json()]).toEqual([503, unavailable])
      expect(next).toMatchObject({ status: 200, service: 'profile-a' })
      expect(a.received.length - before).toBe(1)
    } finally {
      await gateway.close()
    }
  })

  it('all refusing is a 503', async () => {
    const other = `http://127.0.0.1:${await getFreePort()}`
    const gateway = await startGateway({ PROFILE_URL: `${deadUrl},${other}`, MEDIA_URL: media.url })
    try {
      const response = await request(`${gateway.url}/users/who/`)
      expect([response.statusCode, await response.body.json()]).toEqual([503, unavailable])
    } finally {
      await gateway.close()
    }
  })
})
