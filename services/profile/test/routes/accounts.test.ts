import { useTestApp, useTestDatabase } from '@tessera/testing'
import { beforeEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { createUsers } from '../../src/data/users.js'
import { createMemoryTokenStore } from '../../src/domain/tokens.js'
import {
  cookie, driver, FRONTEND_URL, JSON_TYPE, PROFILE_KEYS, seedUser, sessionIdOf, testConfig, USER_KEYS, UUID
} from '../helpers/app.js'
import { codeAndIdIn, useMailbox } from '../helpers/mailbox.js'

const INVALID_CREDENTIALS = '{"error":"invalid authentication credentials","code":"PROFILE_INVALID_CREDENTIALS"}'
const SESSION_REQUIRED = {
  error: 'you must be authenticated to access this resource', code: 'SESSION_REQUIRED'
}
const INVALID_TOKEN = { error: { token: 'invalid or expired token' }, code: 'PROFILE_INVALID_TOKEN' }
const COOKIE = /^sessionid=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax$/
const MISSING_ID = '00000000-0000-4000-8000-000000000000'

function otherCode (code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0')
}

describe('account routes', () => {
  const db = useTestDatabase()
  const mailbox = useMailbox()
  // The clock of the codes and of the in-process rate limits, moved forward by some tests
  let offsetMs = 0
  const now = () => Date.now() + offsetMs
  const app = useTestApp(() => buildApp(testConfig(db().connectionString, { SMTP_URL: mailbox().url }), {
    pool: db().pool,
    tokenStore: createMemoryTokenStore({ now }),
    now: () => new Date(now())
  }))
  const http = driver(app, mailbox)

  beforeEach(() => {
    mailbox().messages.length = 0
  })

  const seeded = async (email: string) => ({ ...await seedUser(db().pool, email), password: 'correct horse' })

  async function isActive (id: string): Promise<boolean> {
    const { rows } = await db().pool.query('SELECT is_active FROM users WHERE id = $1', [id])
    return rows[0]?.is_active
  }

  describe('POST /users/register/', () => {
    it('answers 202 and e-mails a 6-digit code with the activation link', async () => {
      const response = await app().inject({
        method: 'POST',
        url: '/users/register/',
        payload: {
          email: ' New.User@Example.com ', first_name: ' Ada ', last_name: 'Lovelace', password: 'correct horse'
        }
      })

      expect(response.statusCode).toBe(202)
      expect(response.headers['content-type']).toBe(JSON_TYPE)
      expect(response.headers['set-cookie']).toBeUndefined()
      expect(response.body).toBe('{"message":"check your e-mail for the activation code"}')

      const mail = await http.onlyMailTo('New.User@Example.com')
      const { id } = codeAndIdIn(mail)
      expect(mail.subject).toBe('Activate your Tessera account')
      expect(mail.text).toContain(`Enter it at ${FRONTEND_URL}/auth/activate/${id}\n`)
      const { rows } = await db().pool.query('SELECT email, first_name, is_active FROM users WHERE id = $1', [id])
      expect(rows).toEqual([{ email: 'New.User@Example.com', first_name: 'Ada', is_active: false }])
    })

    it('names every bad field in one 422 and stores nothing', async () => {
      const response = await app().inject({
        method: 'POST',
        url: '/users/register/',
        payload: { email: 'bad@', first_name: '  ', last_name: 'L', password: 'short' }
      })

      expect(response.statusCode).toBe(422)
      expect(response.json()).toEqual({
        error: {
          email: 'must be a valid email address',
          first_name: 'must not be empty',
          password: 'must be at least 8 bytes long'
        },
        code: 'PROFILE_VALIDATION_FAILED'
      })

      const empty = await app().inject({ method: 'POST', url: '/users/register/', payload: {} })
      expect([empty.statusCode, empty.json().error]).toEqual([422, {
        email: 'must be provided',
        first_name: 'must be provided',
        last_name: 'must be provided',
        password: 'must be provided'
      }])
      const { rows } = await db().pool.query("SELECT count(*)::int AS n FROM users WHERE email = 'bad@'")
      expect(rows).toEqual([{ n: 0 }])
    })

    it('refuses unknown keys and wrong types with a 400', async () => {
      const payload = { email: 'x@example.com', first_name: 'X', last_name: 'Y', password: 'long enough' }
      const unknown = await app().inject({
        method: 'POST', url: '/users/register/', payload: { ...payload, is_superuser: true }
      })
      expect([unknown.statusCode, unknown.json()]).toEqual([400, {
        error: 'body contains unknown key "is_superuser"', code: 'HTTP_UNKNOWN_KEY'
      }])

      const wrongType = await app().inject({
        method: 'POST', url: '/users/register/', payload: { ...payload, password: 12345678 }
      })
      expect([wrongType.statusCode, wrongType.json()]).toEqual([400, {
        error: 'body contains incorrect JSON type for "password": must be a string', code: 'HTTP_BAD_REQUEST'
      }])

      const notJson = await app().inject({
        method: 'POST', url: '/users/register/', headers: { 'content-type': 'application/json' }, payload: '{"email":'
      })
      expect([notJson.statusCode, notJson.json()]).toEqual([400, {
        error: 'body contains badly-formed JSON', code: 'HTTP_INVALID_JSON'
      }])
      expect(await http.mailsTo('x@example.com')).toEqual([])
    })

    it('answers a taken address exactly like a new one', async () => {
      await http.register('taken@example.com')
      const again = await app().inject({
        method: 'POST',
        url: '/users/register/',
        payload: { email: 'TAKEN@example.com', first_name: 'Eve', last_name: 'E', password: 'other password' }
      })

      expect([again.statusCode, again.body]).toEqual([202, '{"message":"check your e-mail for the activation code"}'])
      expect((await http.mailsTo('taken@example.com')).map((mail) => mail.subject))
        .toEqual(['Activate your Tessera account'])
    })
  })

  describe('PUT /users/activate/:id/', () => {
    it('activates with the code once, spaces allowed; then the code is used up', async () => {
      const { id, code } = await http.register('activate@example.com')

      const response = await http.activate(id, `${code.slice(0, 3)} ${code.slice(3)}`)
      expect([response.statusCode, response.body]).toEqual([200, '{"message":"your account has been activated"}'])
      expect(await isActive(id)).toBe(true)

      const reused = await http.activate(id, code)
      expect([reused.statusCode, reused.json()]).toEqual([422, INVALID_TOKEN])
    })

    it('voids the code after 5 wrong tries', async () => {
      const { id, code } = await http.register('guess@example.com')

      for (let i = 0; i < 5; i++) {
        const wrong = await http.activate(id, otherCode(code))
        expect([wrong.statusCode, wrong.json()]).toEqual([422, INVALID_TOKEN])
      }
      const right = await http.activate(id, code)
      expect([right.statusCode, right.json()]).toEqual([422, INVALID_TOKEN])
      expect(await isActive(id)).toBe(false)
    })

    it('refuses an expired code', async () => {
      const { id, code } = await http.register('expired@example.com')
      offsetMs += 901_000

      const response = await http.activate(id, code)
      expect([response.statusCode, response.json()]).toEqual([422, INVALID_TOKEN])
      expect(await isActive(id)).toBe(false)
    })

    it('answers a malformed id with 400 on both :id routes, an unknown one with the token 422', async () => {
      const bad = { error: 'params id is malformed', code: 'HTTP_BAD_REQUEST' }
      for (const url of ['/users/activate/not-a-uuid/', "/users/activate/1'%20OR%20'1'='1/",
        '/users/password/change-user-password/12345/']) {
        const payload = { token: '123456', password: 'long enough' }
        const response = await app().inject({ method: 'PUT', url, payload })
        expect([url, response.statusCode, response.json()]).toEqual([url, 400, bad])
      }

      const unknown = await http.activate(MISSING_ID, '123456')
      expect([unknown.statusCode, unknown.json()]).toEqual([422, INVALID_TOKEN])
    })

    it('wants a token of the right shape', async () => {
      const { id } = await http.register('shape@example.com')

      const missing = await app().inject({ method: 'PUT', url: `/users/activate/${id}/`, payload: {} })
      expect([missing.statusCode, missing.json()]).toEqual([422, {
        error: { token: 'must be provided' }, code: 'PROFILE_VALIDATION_FAILED'
      }])
      const letters = await http.activate(id, 'abcdef')
      expect([letters.statusCode, letters.json().error]).toEqual([422, { token: 'must be a 6-digit code' }])
    })
  })

  describe('POST /users/regenerate-token/', () => {
    it('answers 202 whatever the address, mailing a new code only to an inactive account', async () => {
      const { id, code } = await http.register('regen@example.com')
      await seeded('regen-active@example.com')
      mailbox().messages.length = 0

      const bodies = []
      for (const email of ['nobody@example.com', 'regen-active@example.com', 'Regen@Example.com']) {
        const response = await app().inject({ method: 'POST', url: '/users/regenerate-token/', payload: { email } })
        bodies.push([response.statusCode, response.body])
      }
      const message = '{"message":"if an inactive account uses this address, a new activation code is on its way"}'
      expect(bodies).toEqual([[202, message], [202, message], [202, message]])

      expect(await http.mailsTo('nobody@example.com')).toEqual([])
      expect(await http.mailsTo('regen-active@example.com')).toEqual([])
      const fresh = codeAndIdIn(await http.onlyMailTo('regen@example.com'))
      expect(fresh.id).toBe(id)

      // The new code replaced the old one
      if (fresh.code !== code) expect((await http.activate(id, code)).statusCode).toBe(422)
      expect((await http.activate(id, fresh.code)).statusCode).toBe(200)
    })
  })

  describe('POST /users/login/', () => {
    it('answers the user in the contract order with exactly one session cookie', async () => {
      const { id } = await seeded('order@example.com')
      const stored = await createUsers(db().pool).findById(id)

      const response = await http.login('ORDER@example.com ', 'correct horse')

      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe(JSON_TYPE)
      // One header: inject answers a string for one Set-Cookie, an array for several
      expect(typeof response.headers['set-cookie']).toBe('string')
      expect(response.headers['set-cookie']).toMatch(COOKIE)
      expect(response.body).toBe(JSON.stringify({
        id,
        email: 'order@example.com',
        first_name: 'Ada',
        last_name: 'Lovelace',
        is_active: true,
        is_staff: false,
        is_superuser: false,
        thumbnail: null,
        date_joined: stored!.date_joined,
        profile: { id: stored!.profile.id, user_id: id, phone_number: null, birth_date: null, github_link: null }
      }))
      const user = response.json()
      expect([Object.keys(user), Object.keys(user.profile)]).toEqual([USER_KEYS, PROFILE_KEYS])
      expect(user.profile.id).toMatch(UUID)
      expect(user.date_joined).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    })

    it('answers an unknown address exactly like a wrong password, setting no cookie', async () => {
      await seeded('known@example.com')

      const wrong = await http.login('known@example.com', 'wrong password')
      const unknown = await http.login('unknown@example.com', 'correct horse')

      for (const response of [wrong, unknown]) {
        expect(response.statusCode).toBe(401)
        expect(response.body).toBe(INVALID_CREDENTIALS)
        expect(response.headers['content-type']).toBe(JSON_TYPE)
        expect(response.headers['set-cookie']).toBeUndefined()
      }
      expect(Object.keys(wrong.headers).sort()).toEqual(Object.keys(unknown.headers).sort())
    })

    it('tells an inactive account apart only with the right password', async () => {
      await http.register('inactive@example.com')

      const wrong = await http.login('inactive@example.com', 'wrong password')
      expect([wrong.statusCode, wrong.body]).toEqual([401, INVALID_CREDENTIALS])
      const right = await http.login('inactive@example.com', 'correct horse')
      expect([right.statusCode, right.json()]).toEqual([403, {
        error: 'your user account must be activated to access this resource', code: 'PROFILE_ACCOUNT_INACTIVE'
      }])
      expect(right.headers['set-cookie']).toBeUndefined()
    })

    it('names the bad fields of a malformed login', async () => {
      const response = await app().inject({ method: 'POST', url: '/users/login', payload: { email: 'x' } })
      expect([response.statusCode, response.json()]).toEqual([422, {
        error: { email: 'must be a valid email address', password: 'must be provided' },
        code: 'PROFILE_VALIDATION_FAILED'
      }])
    })

    it('rotates the session: a new id, and the one the request came with is deleted', async () => {
      const { email, password, session: first } = await http.seededSession(db().pool, 'rotate@example.com')

      const again = await http.login(email, password, cookie(first))
      const second = sessionIdOf(again)

      expect(second).not.toBe(first)
      expect((await http.currentUser(first)).statusCode).toBe(401)
      expect((await http.currentUser(second)).statusCode).toBe(200)
    })

    it('leaves the session a failed login came with as it was', async () => {
      const { email, session } = await http.seededSession(db().pool, 'keep@example.com')

      const failed = await http.login(email, 'wrong password', cookie(session))
      expect([failed.statusCode, failed.headers['set-cookie']]).toEqual([401, undefined])
      expect((await http.currentUser(session)).statusCode).toBe(200)
    })

    it('allows 5 failed logins per address in 15 minutes, then 429 with Retry-After', async () => {
      const { email, password } = await seeded('limited@example.com')

      for (let i = 0; i < 5; i++) expect((await http.login(email, 'wrong password')).statusCode).toBe(401)
      const limited = await http.login(' LIMITED@example.com', password)
      expect(limited.statusCode).toBe(429)
      expect(limited.headers['retry-after']).toBe('900')
      expect(limited.headers['set-cookie']).toBeUndefined()
      expect(limited.json()).toEqual({
        error: 'too many attempts for this address, retry in 900 seconds', code: 'PROFILE_RATE_LIMITED'
      })

      // Another address is not affected; this one is again once the window has passed
      expect((await http.login('other-limited@example.com', password)).statusCode).toBe(401)
      offsetMs += 900_000
      expect((await http.login(email, password)).statusCode).toBe(200)
    })

    it('clears the failed logins of an address when one succeeds', async () => {
      const { email, password } = await seeded('cleared@example.com')

      for (let i = 0; i < 4; i++) await http.login(email, 'wrong password')
      expect((await http.login(email, password)).statusCode).toBe(200)
      for (let i = 0; i < 4; i++) expect((await http.login(email, 'wrong password')).statusCode).toBe(401)
      expect((await http.login(email, password)).statusCode).toBe(200)
    })
  })

  describe('session routes', () => {
    it('GET /users/current-user/ answers the signed-in user, 401 without a live session', async () => {
      const { id, session } = await http.seededSession(db().pool, 'current@example.com')

      const response = await http.currentUser(session)
      expect([response.statusCode, Object.keys(response.json())]).toEqual([200, USER_KEYS])
      expect(response.json()).toMatchObject({ id, email: 'current@example.com', is_active: true })

      const anonymous = [
        {},
        cookie('A'.repeat(43)),
        { cookie: 'sessionid=not a session' },
        { cookie: `sessionid=${session}; sessionid=${session}` }
      ]
      for (const headers of anonymous) {
        const denied = await app().inject({ method: 'GET', url: '/users/current-user/', headers })
        expect([denied.statusCode, denied.json(), denied.headers['set-cookie']])
          .toEqual([401, SESSION_REQUIRED, undefined])
      }
    })

    it('POST /users/logout/ ends only this session and clears the cookie', async () => {
      const { email, password, session } = await http.seededSession(db().pool, 'logout@example.com')
      const other = sessionIdOf(await http.login(email, password))

      const response = await app().inject({ method: 'POST', url: '/users/logout/', headers: cookie(session) })
      expect([response.statusCode, response.body]).toEqual([200, '{"message":"you have been logged out"}'])
      expect(response.headers['set-cookie']).toBe('sessionid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax')

      expect((await http.currentUser(session)).statusCode).toBe(401)
      expect((await http.currentUser(other)).statusCode).toBe(200)
      const again = await app().inject({ method: 'POST', url: '/users/logout/', headers: cookie(session) })
      expect([again.statusCode, again.json()]).toEqual([401, SESSION_REQUIRED])
    })

    it('answers a wrong method with 405 and Allow', async () => {
      const response = await app().inject({ method: 'GET', url: '/users/login/' })
      expect([response.statusCode, response.headers.allow]).toEqual([405, 'POST'])
    })
  })

  describe('password reset', () => {
    const requestReset = (email: string) => app().inject({
      method: 'POST', url: '/users/password/request-password-change/', payload: { email }
    })
    const change = (id: string, payload: object) => app().inject({
      method: 'PUT', url: `/users/password/change-user-password/${id}/`, payload
    })
    const RESET_REQUESTED = '{"message":"if an account uses this address, a password reset code is on its way"}'

    it('answers 202 whatever the address; only an account gets the code and the link', async () => {
      const { id } = await seeded('reset-mail@example.com')
      mailbox().messages.length = 0

      const unknown = await requestReset('nobody-here@example.com')
      const known = await requestReset('Reset-Mail@example.com')

      expect([unknown.statusCode, unknown.body]).toEqual([202, RESET_REQUESTED])
      expect([known.statusCode, known.body]).toEqual([202, RESET_REQUESTED])
      expect(await http.mailsTo('nobody-here@example.com')).toEqual([])
      const mail = await http.onlyMailTo('reset-mail@example.com')
      expect(mail.subject).toBe('Reset your Tessera password')
      expect(mail.text).toContain(`${FRONTEND_URL}/auth/password/change/${id}\n`)
    })

    it('changes the password with the code and deletes every session of the user', async () => {
      const { id, email, password, session } = await http.seededSession(db().pool, 'reset@example.com')
      const second = sessionIdOf(await http.login(email, password))
      await requestReset(email)
      const { code } = codeAndIdIn(await http.onlyMailTo(email))

      const wrong = await change(id, { token: otherCode(code), password: 'new password' })
      expect([wrong.statusCode, wrong.json()]).toEqual([422, INVALID_TOKEN])
      expect((await http.currentUser(session)).statusCode).toBe(200)

      // The path may spell the id in upper case; the sessions still go
      const response = await change(id.toUpperCase(), { token: code, password: 'new password' })
      expect([response.statusCode, response.body])
        .toEqual([200, '{"message":"your password has been changed; log in with the new one"}'])

      expect((await http.currentUser(session)).statusCode).toBe(401)
      expect((await http.currentUser(second)).statusCode).toBe(401)
      expect((await http.login(email, password)).body).toBe(INVALID_CREDENTIALS)
      expect((await http.login(email, 'new password')).statusCode).toBe(200)

      const reused = await change(id, { token: code, password: 'third password' })
      expect([reused.statusCode, reused.json()]).toEqual([422, INVALID_TOKEN])
    })

    it('holds the new password to the rules, keeping the code for a corrected try', async () => {
      const { id, email } = await seeded('reset-rules@example.com')
      mailbox().messages.length = 0
      await requestReset(email)
      const { code } = codeAndIdIn(await http.onlyMailTo(email))

      const short = await change(id, { token: code, password: 'short' })
      expect([short.statusCode, short.json()]).toEqual([422, {
        error: { password: 'must be at least 8 bytes long' }, code: 'PROFILE_VALIDATION_FAILED'
      }])
      expect((await change(id, { token: code, password: 'long enough now' })).statusCode).toBe(200)
    })

    it('limits reset requests per address: 5 an hour, then 429', async () => {
      await seeded('reset-limit@example.com')

      for (let i = 0; i < 5; i++) expect((await requestReset('reset-limit@example.com')).statusCode).toBe(202)
      const limited = await requestReset(' Reset-Limit@Example.com')
      expect([limited.statusCode, limited.headers['retry-after'], limited.json().code])
        .toEqual([429, '3600', 'PROFILE_RATE_LIMITED'])
      expect(await http.mailsTo('reset-limit@example.com')).toHaveLength(5)
    })
  })

  it('goes register → e-mailed code → activate → login → current user', async () => {
    const { id, code } = await http.register('flow@example.com', 'flow password', ['Grace', 'Hopper'])
    expect(id).toMatch(UUID)

    expect((await http.activate(id, code)).statusCode).toBe(200)
    const login = await http.login('flow@example.com', 'flow password')
    expect(login.statusCode).toBe(200)

    const current = await http.currentUser(sessionIdOf(login))
    expect(current.statusCode).toBe(200)
    expect(current.body).toBe(login.body)
    expect(current.json()).toMatchObject({ id, first_name: 'Grace', last_name: 'Hopper', is_active: true })
  })
})
