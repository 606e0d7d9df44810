import { randomBytes, randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { httpConventions, serverOptions } from '@tessera/http'
import { createMemorySessionStore, sessionAuthPlugin, type SessionStore } from '@tessera/session'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricsPlugin, UNMATCHED_ROUTE } from '../src/index.js'

async function buildApp (service: string, store: SessionStore, port?: number): Promise<FastifyInstance> {
  const app = Fastify(serverOptions({ level: 'silent', service, logger: false }))
  await app.register(httpConventions)
  await app.register(sessionAuthPlugin, {
    store,
    ttlSeconds: 60,
    cookieSecure: false,
    events: { created: () => app.tesseraMetrics.sessionsCreated.inc() }
  })
  await app.register(metricsPlugin, { service, version: '1.2.3', port, database: () => ({ total_count: 3, idle_count: 1 }) })
  app.get('/items/:id/', async () => ({ ok: true }))
  app.post('/login/', async (request, reply) => {
    await app.sessions.issue(request, reply, { userId: randomUUID(), isStaff: false, isSuperuser: false })
    return { ok: true }
  })
  return app
}

const seriesOf = (text: string, route: string): string[] =>
  text.split('\n').filter((line) => line.startsWith('http_request_duration_seconds_count') && line.includes(`route="${route}"`))

describe('metrics', () => {
  const store = createMemorySessionStore({ ttlSeconds: 60 })
  let a: FastifyInstance
  let b: FastifyInstance

  beforeAll(async () => {
    a = await buildApp('alpha', store, 0)
    b = await buildApp('beta', store)
    await a.listen({ port: 0, host: '127.0.0.1' })
    await b.ready()
  })
  afterAll(async () => {
    await Promise.all([a.close(), b.close()])
    await store.close?.()
  })

  it('labels requests by route template, not by raw URL', async () => {
    for (const id of ['1', '2', 'abc']) await a.inject({ method: 'GET', url: `/items/${id}/` })
    const text = await a.tesseraMetrics.text()
    const series = seriesOf(text, '/items/:id/')
    expect(series).toHaveLength(1)
    expect(series[0]).toMatch(/method="GET"/)
    expect(series[0]).toMatch(/status_code="200"/)
    expect(series[0]).toMatch(/ 3$/)
    expect(text).not.toContain('route="/items/1/"')
  })

  it('keeps label cardinality constant under random unknown paths', async () => {
    await a.inject({ method: 'GET', url: '/warmup-unknown' })
    const count = (text: string) => text.split('\n').filter((l) => l.startsWith('http_request_duration_seconds_bucket')).length
    const before = count(await a.tesseraMetrics.text())
    for (let i = 0; i < 200; i++) {
      await a.inject({ method: 'GET', url: `/${randomBytes(8).toString('hex')}/${i}?q=${i}` })
    }
    const text = await a.tesseraMetrics.text()
    expect(count(text)).toBe(before)
    expect(seriesOf(text, UNMATCHED_ROUTE).join('\n')).toMatch(/status_code="404"\} 201/)
  })

  it('keeps two apps in one process on their own counters', async () => {
    await b.inject({ method: 'GET', url: '/items/9/' })
    await b.inject({ method: 'POST', url: '/login/' })
    const alpha = await a.tesseraMetrics.text()
    const beta = await b.tesseraMetrics.text()

    expect(seriesOf(beta, '/items/:id/')[0]).toMatch(/ 1$/)
    expect(seriesOf(alpha, '/items/:id/')[0]).toMatch(/ 3$/)
    expect(beta).toMatch(/tessera_sessions_created_total\{service="beta"\} 1/)
    expect(alpha).toMatch(/tessera_sessions_created_total\{service="alpha"\} 0/)
    expect(alpha).toContain('process_resident_memory_bytes')
  })

  it('serves the text format on its own port, and the app itself does not', async () => {
    const url = a.tesseraMetrics.url!
    expect(new URL(url).port).not.toBe(String((a.server.address() as { port: number }).port))
    const res = await request(url)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(await res.body.text()).toContain('route="/items/:id/"')

    const other = await request(url.replace('/metrics', '/users/'))
    expect(other.statusCode).toBe(404)
    await other.body.dump()
    expect((await a.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401)
    expect(b.tesseraMetrics.url).toBeUndefined()
  })

  it('serves the JSON snapshot only to superusers', async () => {
    const anonymous = await b.inject({ method: 'GET', url: '/metrics/' })
    expect(anonymous.statusCode).toBe(401)

    const user = await store.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })
    const forbidden = await b.inject({ method: 'GET', url: '/metrics/', headers: { cookie: `sessionid=${user}` } })
    expect(forbidden.statusCode).toBe(403)

    const admin = await store.create({ user_id: randomUUID(), is_staff: true, is_superuser: true })
    const res = await b.inject({ method: 'GET', url: '/metrics/', headers: { cookie: `sessionid=${admin}` } })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(Object.keys(body)).toEqual([
      'version', 'timestamp', 'goroutines', 'database', 'memstats', 'total_requests_received',
      'total_responses_sent', 'total_processing_time_μs', 'total_responses_sent_by_status', 'cmdline'
    ])
    expect(body.version).toBe('1.2.3')
    expect(Math.abs(body.timestamp - Date.now() / 1000)).toBeLessThan(5)
    expect(body.database).toEqual({ total_count: 3, idle_count: 1 })
    expect(body.memstats.rss).toBeGreaterThan(0)
    expect(body.total_requests_received).toBe(5)
    expect(body.total_responses_sent).toBe(4)
    expect(body.total_responses_sent_by_status).toEqual({ 200: 2, 401: 1, 403: 1 })
    expect(body.cmdline).toEqual(process.argv)
  })
})
