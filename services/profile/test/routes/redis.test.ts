import { createHash, createHmac } from 'node:crypto'
import { hashSessionId } from '@tessera/session'
import { describeRedis, useTestApp, useTestDatabase, useTestRedis } from '@tessera/testing'
import { beforeEach, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { cookie, driver, seedUser, sessionIdOf, testConfig } from '../helpers/app.js'
import { logCapture } from '../helpers/logs.js'
import { codeAndIdIn, useMailbox } from '../helpers/mailbox.js'

const TOKEN_SECRET = 'a test secret of at least thirty-two characters'

function rateKey (rule: string, email: string): string {
  const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)
  return `rate-limit:${rule}:${digest}`
}

describeRedis('profile routes on Redis', () => {
  const db = useTestDatabase()
  const redis = useTestRedis()
  const mailbox = useMailbox()
  const app = useTestApp(() => buildApp(
    testConfig(db().connectionString, { SMTP_URL: mailbox().url, TOKEN_SECRET }),
    { pool: db().pool, redis: redis().client }
  ))
  const http = driver(app, mailbox)
  const keys = () => redis().keys()

  beforeEach(async () => {
    const client = redis().client
    const present = await keys()
    if (present.length > 0) await client.del(...present)
  })

  it('keeps an activation code as an HMAC digest with the TOKEN_TTL lifetime', async () => {
    const { id, code } = await http.register('codes@example.com')

    expect(await keys()).toEqual([rateKey('register', 'codes@example.com'), `token:activation:${id}`].sort())
    const stored = await redis().client.hgetall(`token:activation:${id}`)
    const hmac = createHmac('sha256', TOKEN_SECRET).update(`activation:${id}:${code}`).digest('hex')
    expect(stored).toEqual({ digest: hmac, tries: '0' })
    const ttl = await redis().client.pttl(`token:activation:${id}`)
    expect(ttl).toBeGreaterThan(890_000)
    expect(ttl).toBeLessThanOrEqual(900_000)

    expect((await http.activate(id, code)).statusCode).toBe(200)
    expect(await keys()).toEqual([rateKey('register', 'codes@example.com')])
  })

  it('writes nothing for anonymous requests, and only the attempt counter for failed logins', async () => {
    await seedUser(db().pool, 'quiet@example.com')

    for (const headers of [{}, cookie('B'.repeat(43)), { cookie: 'sessionid=garbage' }]) {
      const response = await app().inject({ method: 'GET', url: '/users/current-user/', headers })
      expect(response.statusCode).toBe(401)
    }
    expect(await keys()).toEqual([])

    const wrong = await http.login('quiet@example.com', 'wrong password')
    const unknown = await http.login('nobody@example.com', 'correct horse')
    expect([wrong.statusCode, wrong.headers['set-cookie'], unknown.statusCode, unknown.headers['set-cookie']])
      .toEqual([401, undefined, 401, undefined])

    // No session state; one counter per address, the unknown address counted like the known one
    const counters = [rateKey('login', 'quiet@example.com'), rateKey('login', 'nobody@example.com')]
    expect(await keys()).toEqual(counters.sort())
    expect(await redis().client.get(rateKey('login', 'quiet@example.com'))).toBe('1')
    expect(await redis().client.get(rateKey('login', 'nobody@example.com'))).toBe('1')
  })

  it('stores a session as DESIGN.md says, rotates it at login and clears the attempt counter', async () => {
    const { id, email } = await seedUser(db().pool, 'stored@example.com')
    const password = 'correct horse'
    await http.login(email, 'wrong password')
    expect(await keys()).toEqual([rateKey('login', email)])

    const first = sessionIdOf(await http.login(email, password))
    const firstKey = `session:${hashSessionId(first)}`
    expect(await keys()).toEqual([firstKey, `user-sessions:${id}`])
    const stored = JSON.parse(String(await redis().client.get(firstKey)))
    expect(stored).toEqual({ user_id: id, is_staff: false, is_superuser: false, created_at: expect.any(String) })
    expect(await redis().client.ttl(firstKey)).toBeGreaterThan(86_390)

    const second = sessionIdOf(await http.login(email, password, cookie(first)))
    expect(await keys()).toEqual([`session:${hashSessionId(second)}`, `user-sessions:${id}`])
    expect(await redis().client.smembers(`user-sessions:${id}`)).toEqual([hashSessionId(second)])
  })

  it('deletes only the current session at logout, and all of them at a password reset', async () => {
    const { id, email, password, session } = await http.seededSession(db().pool, 'sessions@example.com')
    const others = [sessionIdOf(await http.login(email, password)), sessionIdOf(await http.login(email, password))]

    await app().inject({ method: 'POST', url: '/users/logout/', headers: cookie(session) })
    expect(await redis().client.exists(`session:${hashSessionId(session)}`)).toBe(0)
    expect((await http.currentUser(others[0]!)).statusCode).toBe(200)

    await app().inject({ method: 'POST', url: '/users/password/request-password-change/', payload: { email } })
    const { code } = codeAndIdIn(await http.onlyMailTo(email))
    const changed = await app().inject({
      method: 'PUT',
      url: `/users/password/change-user-password/${id}/`,
      payload: { token: code, password: 'new password' }
    })

    expect(changed.statusCode).toBe(200)
    expect((await keys()).filter((key) => key.startsWith('session') || key.startsWith('user-sessions'))).toEqual([])
    for (const other of others) expect((await http.currentUser(other)).statusCode).toBe(401)
  })

  it('counts failed logins per address in Redis, shared by every replica', async () => {
    const { email } = await seedUser(db().pool, 'replicas@example.com')
    const password = 'correct horse'
    const replica = await buildApp(
      testConfig(db().connectionString, { SMTP_URL: mailbox().url, TOKEN_SECRET, MIGRATE_ON_START: 'false' }),
      { pool: db().pool, redis: redis().client }
    )

    try {
      for (let i = 0; i < 5; i++) {
        const target = i % 2 === 0 ? app() : replica
        const payload = { email, password: 'nope nope' }
        const response = await target.inject({ method: 'POST', url: '/users/login/', payload })
        expect(response.statusCode).toBe(401)
      }
      const limited = await replica.inject({ method: 'POST', url: '/users/login/', payload: { email, password } })
      expect([limited.statusCode, limited.json().code]).toEqual([429, 'PROFILE_RATE_LIMITED'])
      // Retry-After is the counter's remaining life rounded up, read a moment before this
      const left = Math.ceil(await redis().client.pttl(rateKey('login', email)) / 1000)
      expect([left, left + 1]).toContain(Number(limited.headers['retry-after']))
      expect(left).toBeGreaterThan(890)
    } finally {
      await replica.close()
    }
  })

  it('reports Redis in readiness', async () => {
    const response = await app().inject({ method: 'GET', url: '/readyz' })
    expect([response.statusCode, response.json()])
      .toEqual([200, { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } }])
  })

  it('warns at start-up when codes go to Redis without a TOKEN_SECRET', async () => {
    const capture = logCapture('warn')
    const unkeyed = await buildApp(
      testConfig(db().connectionString, { MIGRATE_ON_START: 'false', MEDIA_URL_SECRET: 'm'.repeat(32) }),
      { pool: db().pool, redis: redis().client, logger: capture.logger }
    )
    await unkeyed.close()

    expect(capture.lines.map((line) => [line.level, line.msg]))
      .toEqual([[40, 'TOKEN_SECRET is not set: codes in Redis are kept as plain SHA-256 digests']])
  })
})
