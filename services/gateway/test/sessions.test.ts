import { randomUUID } from 'node:crypto'
import { createMemorySessionStore, type SessionStore } from '@tessera/session'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { startGateway, type RunningGateway } from './helpers.js'

/** The in-process store, counting how often the gateway asks it for a session. */
function countingStore () {
  const inner = createMemorySessionStore({ ttlSeconds: 60 })
  const counter = { lookups: 0 }
  const store: SessionStore = {
    ...inner,
    get: async (id) => {
      counter.lookups++
      return await inner.get(id)
    }
  }
  return { store, counter, close: async () => { await inner.close?.() } }
}

describe('sessions in the gateway', () => {
  const sessions = countingStore()
  let profile: StandIn
  let media: StandIn
  let gateway: RunningGateway
  let cookie: string

  beforeAll(async () => {
    cookie = `sessionid=${await sessions.store.create({ user_id: randomUUID(), is_staff: false, is_superuser: true })}`
    ;[profile, media] = await Promise.all([startStandIn('profile'), startStandIn('media')])
    gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url }, { sessionStore: sessions.store })
  })

  afterAll(async () => {
    await gateway?.close()
    await Promise.all([profile?.close(), media?.close()])
    await sessions.close()
  })

  it('are never looked up for a proxied route, whose cookie reaches the service unchanged', async () => {
    const before = sessions.counter.lookups
    const response = await request(`${gateway.url}/users/current-user/`, { headers: { cookie: `${cookie}; theme=dark` } })
    const echo = await response.body.json() as { headers: Record<string, string> }
    const health = await request(`${gateway.url}/healthcheck/`, { headers: { cookie } })
    await health.body.dump()
    const unknown = await request(`${gateway.url}/nothing/`, { headers: { cookie } })
    await unknown.body.dump()

    expect([health.statusCode, unknown.statusCode]).toEqual([200, 404])
    expect(echo.headers.cookie).toBe(`${cookie}; theme=dark`)
    expect(sessions.counter.lookups - before).toBe(0)
  })

  it('are looked up for the upload limit and for /metrics/', async () => {
    const before = sessions.counter.lookups
    const upload = await request(`${gateway.url}/file/upload/`, { method: 'POST', headers: { cookie }, body: 'x' })
    const echo = await upload.body.json() as { headers: Record<string, string> }
    const metrics = await request(`${gateway.url}/metrics/`, { headers: { cookie } })
    await metrics.body.dump()

    expect([upload.statusCode, metrics.statusCode]).toEqual([200, 200])
    expect(echo.headers.cookie).toBe(cookie)
    expect(sessions.counter.lookups - before).toBe(2)
  })
})
