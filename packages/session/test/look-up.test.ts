import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { httpConventions, serverOptions } from '@tessera/http'
import { expect, it } from 'vitest'
import { createMemorySessionStore, sessionAuthPlugin, type SessionStore } from '../src/index.js'

it('looks sessions up only where shouldLookUp says so, and never reads the store elsewhere', async () => {
  const inner = createMemorySessionStore({ ttlSeconds: 60 })
  let reads = 0
  const store: SessionStore = { ...inner, get: async (id) => { reads++; return await inner.get(id) } }
  const app = Fastify(serverOptions({ level: 'silent', service: 't', logger: false }))
  await app.register(httpConventions)
  await app.register(sessionAuthPlugin, {
    store, ttlSeconds: 60, cookieSecure: false, shouldLookUp: (request) => request.url.startsWith('/checked/')
  })
  app.get('/checked/', async (request) => ({ userId: request.session?.userId ?? null }))
  app.get('/forwarded/', async (request) => ({ userId: request.session?.userId ?? null, cookie: request.headers.cookie }))

  const userId = randomUUID()
  const cookie = `sessionid=${await store.create({ user_id: userId, is_staff: false, is_superuser: false })}`

  const checked = await app.inject({ url: '/checked/', headers: { cookie } })
  expect(checked.json()).toEqual({ userId })
  expect(reads).toBe(1)

  const forwarded = await app.inject({ url: '/forwarded/', headers: { cookie } })
  expect(forwarded.json()).toEqual({ userId: null, cookie })
  expect(reads).toBe(1)
  await app.close()
  await inner.close?.()
})
