import { setTimeout as sleep } from 'node:timers/promises'
import { useTestApp, useTestDatabase } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { createSuperuser } from '../../src/commands/superuser.js'
import { cookie, driver, sessionIdOf, TEST_ARGON2, testConfig, USER_KEYS } from '../helpers/app.js'
import { logCapture } from '../helpers/logs.js'
import { codeAndIdIn, startMailbox, useMailbox } from '../helpers/mailbox.js'

/** The value of one sample of the Prometheus text, e.g. `tessera_pg_pool_connections`. */
function sample (text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no ${name} in the metrics text`)
  return Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function until (check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 5000) throw new Error(`${what} did not happen within 5 s`)
    await sleep(20)
  }
}

describe('operations', () => {
  const db = useTestDatabase()
  const mailbox = useMailbox()
  const app = useTestApp(() => buildApp(testConfig(db().connectionString, { SMTP_URL: mailbox().url }), {
    pool: db().pool
  }))
  const http = driver(app, mailbox)

  async function superuserSession (): Promise<string> {
    const root = { email: 'root@example.com', password: 'root password' }
    await createSuperuser({ pool: db().pool, ...root, argon2: TEST_ARGON2 })
    const response = await http.login('root@example.com', 'root password')
    expect([response.statusCode, response.json().is_superuser]).toEqual([200, true])
    return sessionIdOf(response)
  }

  it('answers /livez and /readyz, checking Postgres', async () => {
    const live = await app().inject({ method: 'GET', url: '/livez' })
    const ready = await app().inject({ method: 'GET', url: '/readyz' })

    expect([live.statusCode, live.json()]).toEqual([200, { status: 'ok' }])
    expect([ready.statusCode, ready.json()]).toEqual([200, { status: 'ready', checks: { postgres: 'ok' } }])
  })

  it('serves /metrics/ to a superuser only (401, 403, 200) with the pool figures', async () => {
    const anonymous = await app().inject({ method: 'GET', url: '/metrics/' })
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'SESSION_REQUIRED'])

    const { session } = await http.seededSession(db().pool, 'plain@example.com')
    const plain = await app().inject({ method: 'GET', url: '/metrics/', headers: cookie(session) })
    expect([plain.statusCode, plain.json().code]).toEqual([403, 'GUARD_FORBIDDEN'])

    const root = await superuserSession()
    const response = await app().inject({ method: 'GET', url: '/metrics/', headers: cookie(root) })
    const pool = db().pool
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      version: '0.1.0',
      database: { total_count: pool.totalCount, idle_count: pool.idleCount, waiting_count: 0, max: 10 }
    })
  })

  it('exports the pool gauges and counts sessions created and destroyed', async () => {
    const metrics = app().tesseraMetrics
    const before = await metrics.text()
    const pool = db().pool
    const gauges = ['connections', 'idle', 'waiting'].map((name) => sample(before, `tessera_pg_pool_${name}`))
    expect(gauges).toEqual([pool.totalCount, pool.idleCount, 0])

    const { id, email, password, session } = await http.seededSession(db().pool, 'counted@example.com')
    await http.login(email, password)
    await app().inject({ method: 'POST', url: '/users/logout/', headers: cookie(session) })
    await app().inject({ method: 'POST', url: '/users/password/request-password-change/', payload: { email } })
    const { code } = codeAndIdIn(await http.onlyMailTo(email))
    await app().inject({
      method: 'PUT',
      url: `/users/password/change-user-password/${id}/`,
      payload: { token: code, password: 'new password' }
    })

    // Two logins; one logout, then the reset revokes the other session
    const after = await metrics.text()
    const growth = (name: string) => sample(after, name) - sample(before, name)
    expect(growth('tessera_sessions_created_total')).toBe(2)
    expect(growth('tessera_sessions_destroyed_total')).toBe(2)
  })

  it('serves its OpenAPI document from the route schemas', async () => {
    const response = await app().inject({ method: 'GET', url: '/openapi.json' })
    const document = response.json()

    expect([response.statusCode, document.openapi]).toEqual([200, '3.0.3'])
    expect(Object.keys(document.paths).sort()).toEqual([
      '/users/activate/{id}/',
      '/users/current-user/',
      '/users/login/',
      '/users/logout/',
      '/users/password/change-user-password/{id}/',
      '/users/password/request-password-change/',
      '/users/regenerate-token/',
      '/users/register/',
      '/users/update-user/'
    ])
    const user = document.paths['/users/login/'].post.responses['200'].content['application/json'].schema
    expect(Object.keys(user.properties)).toEqual(USER_KEYS)
    expect(user.properties.thumbnail).toMatchObject({ nullable: true })
    expect(document.paths['/users/update-user/'].patch.security).toEqual([{ sessionCookie: [] }])
    expect(document.paths['/users/update-user/'].patch.requestBody.content['application/json'].schema)
      .toMatchObject({ additionalProperties: false })
  })

  it('names every route with its operation in the response log line', async () => {
    const capture = logCapture()
    const logged = await buildApp(testConfig(db().connectionString, { MIGRATE_ON_START: 'false' }), {
      pool: db().pool, logger: capture.logger
    })
    const id = '00000000-0000-4000-8000-000000000000'
    const requests = [
      ['POST', '/users/register/'], ['PUT', `/users/activate/${id}/`], ['POST', '/users/regenerate-token/'],
      ['POST', '/users/login/'], ['POST', '/users/logout/'], ['GET', '/users/current-user/'],
      ['POST', '/users/password/request-password-change/'], ['PUT', `/users/password/change-user-password/${id}/`],
      ['PATCH', '/users/update-user/']
    ] as const

    try {
      for (const [method, url] of requests) await logged.inject({ method, url, payload: {} })
    } finally {
      await logged.close()
    }
    const operations = capture.lines.filter((line) => line.msg === 'request completed').map((line) => line.operation)
    expect(operations).toEqual([
      'profile.register', 'profile.activate', 'profile.regenerate-token', 'profile.login', 'profile.logout',
      'profile.current-user', 'profile.request-password-change', 'profile.change-password', 'profile.update'
    ])
  })

  it('survives Postgres dropping a pooled connection of its own pool, and ends that pool on close', async () => {
    const capture = logCapture()
    const config = testConfig(db().connectionString, { MEDIA_URL_SECRET: 'm'.repeat(32) })
    const owned = await buildApp(config, { logger: capture.logger })
    const ownedPool = owned.pg.pool

    try {
      const { rows } = await ownedPool.query('SELECT pg_backend_pid() AS pid')
      await db().pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid])
      const failed = () => capture.lines.some((line) => line.msg === 'idle Postgres connection failed')
      await until(failed, 'the pool error')

      const ready = await owned.inject({ method: 'GET', url: '/readyz' })
      expect([ready.statusCode, ready.json().checks]).toEqual([200, { postgres: 'ok' }])
      expect(capture.lines.filter((line) => line.level >= 40).map((line) => line.msg))
        .toEqual(['idle Postgres connection failed'])
    } finally {
      await owned.close()
    }
    expect(ownedPool.ended).toBe(true)
  })

  it('waits at close for an e-mail still being sent', async () => {
    const slow = await startMailbox()
    slow.onMessage = () => sleep(300)
    const closing = await buildApp(
      testConfig(db().connectionString, { SMTP_URL: slow.url, MIGRATE_ON_START: 'false' }), { pool: db().pool }
    )

    try {
      const response = await closing.inject({
        method: 'POST', url: '/users/password/request-password-change/', payload: { email: 'root@example.com' }
      })
      expect([response.statusCode, slow.messages]).toEqual([202, []])

      await closing.close()
      expect(slow.messages.map((mail) => [mail.to, mail.subject]))
        .toEqual([[['root@example.com'], 'Reset your Tessera password']])
    } finally {
      await closing.close()
      await slow.close()
    }
  })
})
