import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { httpConventions, serverOptions } from '@tessera/http'
import { createMemorySessionStore, createRedisSessionStore, sessionAuthPlugin, type SessionStore } from '@tessera/session'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardErrorDocs, GuardErrors, requireSuperuser } from '../src/index.js'

function guardSuite (label: string, makeStore: () => SessionStore): void {
  describe(`superuser guard (${label} store)`, () => {
    let app: FastifyInstance
    let store: SessionStore
    let handlerRuns = 0

    beforeAll(async () => {
      store = makeStore()
      app = Fastify(serverOptions({ level: 'silent', service: 'test', logger: false }))
      await app.register(httpConventions)
      await app.register(sessionAuthPlugin, { store, ttlSeconds: 60, cookieSecure: false })
      await app.register(async (admin) => {
        admin.addHook('onRequest', requireSuperuser)
        admin.get('/admin/', async () => { handlerRuns++; return { secret: 42 } })
        admin.post('/admin/danger/', async () => { handlerRuns++; return { done: true } })
      })
      app.get('/open/', async () => ({ open: true }))
      await app.ready()
    })
    afterAll(async () => {
      await app.close()
      await store.close?.()
    })

    const cookieFor = async (isSuperuser: boolean) =>
      `sessionid=${await store.create({ user_id: randomUUID(), is_staff: isSuperuser, is_superuser: isSuperuser })}`

    it('answers 401 without a session and never runs the handler', async () => {
      const before = handlerRuns
      const res = await app.inject({ method: 'GET', url: '/admin/' })
      expect(res.statusCode).toBe(401)
      expect(res.json().code).toBe('SESSION_REQUIRED')
      expect(handlerRuns).toBe(before)
    })

    it('answers 403 to a signed-in non-superuser and never runs the handler', async () => {
      const before = handlerRuns
      const cookie = await cookieFor(false)
      for (const [method, url] of [['GET', '/admin/'], ['POST', '/admin/danger/']] as const) {
        const res = await app.inject({ method, url, headers: { cookie } })
        expect(res.statusCode).toBe(403)
        expect(res.json()).toEqual({
          error: 'your user account does not have the necessary permissions to access this resource',
          code: 'GUARD_FORBIDDEN'
        })
      }
      expect(handlerRuns).toBe(before)
    })

    it('lets a superuser through', async () => {
      const res = await app.inject({ method: 'GET', url: '/admin/', headers: { cookie: await cookieFor(true) } })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ secret: 42 })
    })

    it('guards only its own scope', async () => {
      const res = await app.inject({ method: 'GET', url: '/open/' })
      expect(res.statusCode).toBe(200)
    })

    it('answers 401 once a superuser\'s session is revoked', async () => {
      const userId = randomUUID()
      const id = await store.create({ user_id: userId, is_staff: true, is_superuser: true })
      await store.destroyAllForUser(userId)
      const res = await app.inject({ method: 'GET', url: '/admin/', headers: { cookie: `sessionid=${id}` } })
      expect(res.statusCode).toBe(401)
    })
  })
}

guardSuite('memory', () => createMemorySessionStore({ ttlSeconds: 60 }))

describeRedis('superuser guard against Redis', () => {
  const redis = useTestRedis({ label: 'guards' })
  guardSuite('redis', () => createRedisSessionStore({ redis: redis().client, ttlSeconds: 60 }))
})

it('documents every guard error code', () => {
  expect(Object.keys(guardErrorDocs)).toEqual(Object.values(GuardErrors).map((E) => new E().code))
})
