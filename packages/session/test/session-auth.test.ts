import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { httpConventions, serverOptions } from '@tessera/http'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createMemorySessionStore, createRedisSessionStore, sessionAuthPlugin, type SessionStore
} from '../src/index.js'

const cookiePattern = /^sessionid=([A-Za-z0-9_-]{43}); Path=\/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax$/

interface Counters { created: number, destroyed: number }

async function buildApp (store: SessionStore, counters: Counters): Promise<FastifyInstance> {
  const app = Fastify(serverOptions({ level: 'silent', service: 'test', logger: false }))
  await app.register(httpConventions)
  await app.register(sessionAuthPlugin, {
    store,
    ttlSeconds: 3600,
    cookieSecure: true,
    events: { created: () => counters.created++, destroyed: (n) => { counters.destroyed += n } }
  })

  app.post('/login/', async (request, reply) => {
    const { userId } = request.body as { userId: string }
    await app.sessions.issue(request, reply, { userId, isStaff: false, isSuperuser: false })
    return { ok: true }
  })
  app.get('/public/', async (request) => ({ signedIn: request.session !== null }))

  await app.register(async (scope) => {
    scope.addHook('onRequest', scope.requireSession)
    scope.get('/me/', async (request) => ({ userId: request.session?.userId }))
    scope.post('/logout/', async (request, reply) => {
      await app.sessions.end(request)
      app.sessions.clearCookie(reply)
      return { ok: true }
    })
    scope.post('/revoke-all/', async (request) => ({ revoked: await app.sessions.revokeAll(request.session!.userId) }))
  })
  await app.ready()
  return app
}

function sessionSuite (label: string, makeStore: () => SessionStore, storedKeys: () => Promise<string[]>): void {
  describe(`session auth with the ${label} store`, () => {
    let app: FastifyInstance
    let store: SessionStore
    const counters = { created: 0, destroyed: 0 }

    beforeAll(async () => {
      store = makeStore()
      app = await buildApp(store, counters)
    })
    afterAll(async () => {
      await app.close()
      await store.close?.()
    })

    const login = async (userId: string, cookie?: string) => {
      const res = await app.inject({
        method: 'POST', url: '/login/', payload: { userId }, headers: cookie ? { cookie } : {}
      })
      const header = res.headers['set-cookie']
      expect(typeof header).toBe('string')
      const match = cookiePattern.exec(header as string)
      expect(match).not.toBeNull()
      return match![1]!
    }
    const me = async (cookie: string) => await app.inject({ method: 'GET', url: '/me/', headers: { cookie } })

    it('sends exactly one Set-Cookie in the contract\'s attribute order', async () => {
      const res = await app.inject({ method: 'POST', url: '/login/', payload: { userId: randomUUID() } })
      expect(res.headers['set-cookie']).toMatch(cookiePattern)
      expect([res.headers['set-cookie']].flat()).toHaveLength(1)
    })

    it('recognises the session on later requests', async () => {
      const userId = randomUUID()
      const id = await login(userId)
      const res = await me(`sessionid=${id}`)
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ userId })
    })

    it('answers 401 without a cookie', async () => {
      const res = await app.inject({ method: 'GET', url: '/me/' })
      expect(res.statusCode).toBe(401)
      expect(res.json()).toEqual({ error: 'you must be authenticated to access this resource', code: 'SESSION_REQUIRED' })
    })

    it.each([
      ['malformed', 'sessionid=not-a-session'],
      ['tampered', 'sessionid=' + 'A'.repeat(43)],
      ['empty', 'sessionid='],
      ['oversized', 'sessionid=' + 'A'.repeat(10_000)],
      ['percent-encoded junk', 'sessionid=%ZZ%00%0d%0a'],
      ['unicode', 'sessionid=ä'.padEnd(53, 'ä')],
      ['no value', 'sessionid'],
      ['garbage header', ';;;===;;']
    ])('answers 401, never 500, to a %s cookie', async (_label, cookie) => {
      const res = await me(cookie)
      expect(res.statusCode).toBe(401)
      expect(res.json().code).toBe('SESSION_REQUIRED')
    })

    it('keeps a live session when other cookies make the header long', async () => {
      const id = await login(randomUUID())
      const res = await me(`theme=${'a'.repeat(12_000)}; sessionid=${id}`)
      expect(res.statusCode).toBe(200)
    })

    it('answers 401 to a duplicated sessionid cookie even when one copy is live', async () => {
      const id = await login(randomUUID())
      const res = await me(`sessionid=${id}; sessionid=${'A'.repeat(43)}`)
      expect(res.statusCode).toBe(401)
      const same = await me(`sessionid=${id}; sessionid=${id}`)
      expect(same.statusCode).toBe(401)
    })

    it('writes nothing and sends no cookie for anonymous and rejected requests', async () => {
      const before = await storedKeys()
      const createdBefore = counters.created
      for (const cookie of ['', 'sessionid=' + 'Z'.repeat(43), 'theme=dark']) {
        const res = await app.inject({ method: 'GET', url: '/public/', headers: cookie ? { cookie } : {} })
        expect(res.json()).toEqual({ signedIn: false })
        expect(res.headers['set-cookie']).toBeUndefined()
      }
      expect(await storedKeys()).toEqual(before)
      expect(counters.created).toBe(createdBefore)
    })

    it('issues a new id at login and destroys the one the request came with', async () => {
      const userId = randomUUID()
      const first = await login(userId)
      const second = await login(userId, `sessionid=${first}`)
      expect(second).not.toBe(first)
      expect((await me(`sessionid=${first}`)).statusCode).toBe(401)
      expect((await me(`sessionid=${second}`)).statusCode).toBe(200)
    })

    it('logout deletes only the current session and clears the cookie', async () => {
      const userId = randomUUID()
      const phone = await login(userId)
      const laptop = await login(userId)

      const res = await app.inject({ method: 'POST', url: '/logout/', headers: { cookie: `sessionid=${laptop}` } })
      expect(res.statusCode).toBe(200)
      expect(res.headers['set-cookie']).toBe('sessionid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax')
      expect((await me(`sessionid=${laptop}`)).statusCode).toBe(401)
      expect((await me(`sessionid=${phone}`)).statusCode).toBe(200)
    })

    it('revokes every session of the user and counts them', async () => {
      const userId = randomUUID()
      const ids = [await login(userId), await login(userId), await login(userId)]
      const destroyedBefore = counters.destroyed
      const res = await app.inject({ method: 'POST', url: '/revoke-all/', headers: { cookie: `sessionid=${ids[0]}` } })
      expect(res.json()).toEqual({ revoked: 3 })
      expect(counters.destroyed - destroyedBefore).toBe(3)
      for (const id of ids) expect((await me(`sessionid=${id}`)).statusCode).toBe(401)
    })
  })
}

sessionSuite('memory', () => createMemorySessionStore({ ttlSeconds: 3600 }), async () => [])

describeRedis('session auth against Redis', () => {
  const redis = useTestRedis({ label: 'session-auth' })
  sessionSuite('redis', () => createRedisSessionStore({ redis: redis().client, ttlSeconds: 3600 }), () => redis().keys())
})
