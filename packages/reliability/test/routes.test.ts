import { randomUUID } from 'node:crypto'
import { createRedisSessionStore } from '@tessera/session'
import { describeRedis } from '@tessera/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createClient, startStack, type Client, type Stack } from '../src/index.js'
import { collectRoutes, concretePath, type RouteEntry } from '../src/routes.js'
import { FORBIDDEN, SESSION_REQUIRED } from './helpers.js'

type Service = 'gateway' | 'profile' | 'media'

// Every route a client may call without a session. A route missing from these lists is held
// to needing a session, so a new route added without a guard fails the sweep.
const PUBLIC: Record<Service, string[]> = {
  gateway: [
    'GET /livez', 'HEAD /livez', 'GET /readyz', 'HEAD /readyz', 'GET /healthcheck/', 'HEAD /healthcheck/',
    'GET /docs', 'HEAD /docs', 'GET /docs/static/index.html',
    'HEAD /docs/static/index.html', 'GET /docs/static/swagger-initializer.js',
    'HEAD /docs/static/swagger-initializer.js', 'GET /docs/json', 'HEAD /docs/json', 'GET /docs/yaml',
    'HEAD /docs/yaml', 'GET /docs/static/*', 'HEAD /docs/static/*',
    // CORS preflights.
    'OPTIONS *'
  ],
  profile: [
    'GET /livez', 'HEAD /livez', 'GET /readyz', 'HEAD /readyz', 'GET /openapi.json', 'HEAD /openapi.json',
    'POST /users/register/', 'PUT /users/activate/:id/', 'POST /users/regenerate-token/', 'POST /users/login/',
    'POST /users/password/request-password-change/', 'PUT /users/password/change-user-password/:id/'
  ],
  media: ['GET /livez', 'HEAD /livez', 'GET /readyz', 'HEAD /readyz', 'GET /openapi.json', 'HEAD /openapi.json']
}

/** Signed in is not enough: 403 for anyone but a superuser. */
const SUPERUSER: Record<Service, string[]> = {
  gateway: ['GET /metrics/', 'HEAD /metrics/'],
  profile: ['GET /metrics/', 'HEAD /metrics/'],
  media: ['GET /metrics/', 'HEAD /metrics/']
}

const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY']

/** The gateway's forwarding routes; what they reach is swept through them, route by route. */
const PROXIED = [
  'POST /users/login/', 'POST /users/register/', 'POST /users/regenerate-token/', 'PUT /users/activate/*',
  'POST /users/password/*', 'PUT /users/password/change-user-password/*', 'POST /file/upload/', 'DELETE /file/delete/',
  ...PROXY_METHODS.map((method) => `${method} /users/*`),
  ...PROXY_METHODS.map((method) => `${method} /file/*`)
]

const name = (route: RouteEntry) => `${route.method} ${route.url}`

describeRedis('route sweep', () => {
  let stack: Stack
  let routes: Record<Service, RouteEntry[]>
  const clients = {} as Record<Service, Client>
  let swept = 0

  beforeAll(async () => {
    const collected = await collectRoutes(() => startStack({ label: 'routes', logLevel: 'warn' }))
    stack = collected.built
    routes = {
      gateway: collected.routes.get(stack.apps.gateway)!,
      profile: collected.routes.get(stack.apps.profile)!,
      media: collected.routes.get(stack.apps.media)!
    }
    for (const service of ['gateway', 'profile', 'media'] as const) clients[service] = createClient(stack.urls[service])
  })

  afterAll(async () => {
    console.log(`[reliability] route sweep: ${swept} requests over every route of the three services`)
    await Promise.all(Object.values(clients).map(async (client) => await client.close()))
    await stack?.close()
  })

  /** A session made the way login makes one, for a user that need not exist. */
  async function session (isSuperuser: boolean): Promise<string> {
    const store = createRedisSessionStore({ redis: stack.redis.client, ttlSeconds: 60 })
    return `sessionid=${await store.create({ user_id: randomUUID(), is_staff: isSuperuser, is_superuser: isSuperuser })}`
  }

  async function answer (client: Client, route: RouteEntry, cookie?: string) {
    swept++
    const reply = await client.send(route.method, concretePath(route.url, randomUUID()), {
      headers: cookie === undefined ? {} : { cookie }
    })
    return { route: name(route), status: reply.status, body: route.method === 'HEAD' ? null : reply.body }
  }

  const guarded = (service: Service) => routes[service].filter((route) => !PUBLIC[service].includes(name(route)))

  it('finds every route of each service, and knows each gateway route for what it is', () => {
    expect(routes.profile.map(name)).toContain('PATCH /users/update-user/')
    expect(routes.media.map(name)).toContain('DELETE /file/delete/')
    const known = [...PUBLIC.gateway, ...SUPERUSER.gateway, ...PROXIED]
    const unknown = routes.gateway.map(name).filter((route) => !known.includes(route))
    expect(unknown).toEqual([])

    // And the lists name no route that is gone.
    for (const service of ['gateway', 'profile', 'media'] as const) {
      const present = routes[service].map(name)
      expect([...PUBLIC[service], ...SUPERUSER[service]].filter((route) => !present.includes(route))).toEqual([])
    }
    expect(PROXIED.filter((route) => !routes.gateway.map(name).includes(route))).toEqual([])
  })

  for (const service of ['profile', 'media'] as const) {
    it(`every non-public ${service} route answers 401 without a session, straight and through the gateway`, async () => {
      for (const client of [clients[service], clients.gateway]) {
        const answers = await Promise.all(guarded(service).map((route) => answer(client, route)))
        expect(answers).toEqual(guarded(service).map((route) => ({
          route: name(route), status: 401, body: route.method === 'HEAD' ? null : SESSION_REQUIRED
        })))
      }
    })

    it(`every superuser ${service} route answers 403 to a normal user and 200 to a superuser; no other route refuses a session`, async () => {
      for (const client of [clients[service], clients.gateway]) {
        for (const route of guarded(service)) {
          const normal = await answer(client, route, await session(false))
          if (SUPERUSER[service].includes(name(route))) {
            expect(normal).toEqual({ route: name(route), status: 403, body: route.method === 'HEAD' ? null : FORBIDDEN })
            expect((await answer(client, route, await session(true))).status).toBe(200)
          } else {
            expect([name(route), [401, 403].includes(normal.status)]).toEqual([name(route), false])
          }
        }
      }
    })
  }

  it('the gateway\'s own superuser route answers 401 without a session, 403 to a normal user, 200 to a superuser', async () => {
    const own = routes.gateway.filter((route) => SUPERUSER.gateway.includes(name(route)))
    expect(own.map(name).sort()).toEqual([...SUPERUSER.gateway].sort())

    for (const route of own) {
      const body = (value: unknown) => route.method === 'HEAD' ? null : value
      expect(await answer(clients.gateway, route))
        .toEqual({ route: name(route), status: 401, body: body(SESSION_REQUIRED) })
      expect(await answer(clients.gateway, route, await session(false)))
        .toEqual({ route: name(route), status: 403, body: body(FORBIDDEN) })
      expect((await answer(clients.gateway, route, await session(true))).status).toBe(200)
    }
  })
})
