import { createHash } from 'node:crypto'
import { describeRedis } from '@tessera/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  activeUser, codeOf, cookieOf, createClient, head, logIn, onlyMailTo, PASSWORD, RawConnection, sessionKey,
  signedInSuperuser, signedInUser, sleep, type Client, type Stack
} from '../src/index.js'
import { FORBIDDEN, JSON_TYPE, SESSION_REQUIRED, useStack } from './helpers.js'

const INVALID_TOKEN = { error: { token: 'invalid or expired token' }, code: 'PROFILE_INVALID_TOKEN' }
const INVALID_CREDENTIALS = { error: 'invalid authentication credentials', code: 'PROFILE_INVALID_CREDENTIALS' }

function clients (stack: () => Stack) {
  const all = {} as { gateway: Client, profile: Client, media: Client }
  beforeAll(() => {
    all.gateway = createClient(stack().urls.gateway)
    all.profile = createClient(stack().urls.profile)
    all.media = createClient(stack().urls.media)
  })
  afterAll(async () => {
    await Promise.all(Object.values(all).map(async (client) => await client?.close()))
  })
  return all
}

const sessionKeys = async (stack: Stack) => (await stack.redis.keys()).filter((key) => key.startsWith('session:'))
const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')
const loginCounter = (email: string) =>
  `rate-limit:login:${createHash('sha256').update(email).digest('hex').slice(0, 32)}`

describeRedis('session security', () => {
  describe('sessions', () => {
    const stack = useStack({ label: 'sessions' })
    const http = clients(stack)

    it('login replaces a planted live session, which dies (no fixation)', async () => {
      const attacker = await signedInUser(stack(), 'attacker@example.com')
      const victim = await activeUser(stack(), 'victim@example.com')

      const login = await http.gateway.send('POST', '/users/login/', {
        headers: { cookie: attacker.cookie }, json: { email: victim.email, password: victim.password }
      })
      const issued = cookieOf(login)

      expect([login.status, login.body.id]).toEqual([200, victim.id])
      expect(issued).not.toBe(attacker.cookie)
      expect(await stack().redis.client.exists(sessionKey(attacker.sessionId))).toBe(0)
      expect(await stack().redis.client.smembers(`user-sessions:${attacker.id}`)).toEqual([])
      const asAttacker = await http.gateway.send('GET', '/users/current-user/', { headers: { cookie: attacker.cookie } })
      const asVictim = await http.gateway.send('GET', '/users/current-user/', { headers: { cookie: issued } })
      expect([asAttacker.status, asAttacker.body, asVictim.status, asVictim.body.id])
        .toEqual([401, SESSION_REQUIRED, 200, victim.id])
    })

    it('login ignores a planted id the store never issued and issues its own', async () => {
      const user = await activeUser(stack(), 'planted@example.com')
      const planted = `sessionid=${'P'.repeat(43)}`
      const before = await sessionKeys(stack())

      const login = await http.gateway.send('POST', '/users/login/', {
        headers: { cookie: planted }, json: { email: user.email, password: user.password }
      })
      const issued = cookieOf(login)

      expect(login.status).toBe(200)
      expect(issued).not.toBe(planted)
      expect(await stack().redis.client.exists(sessionKey('P'.repeat(43)))).toBe(0)
      expect((await sessionKeys(stack())).filter((key) => !before.includes(key)))
        .toEqual([sessionKey(issued.slice('sessionid='.length))])
    })

    it('logout while a slow PATCH is in flight: the PATCH authorised at its start ends, the session stays dead', async () => {
      const user = await signedInUser(stack(), 'racer@example.com')
      const body = Buffer.from(JSON.stringify({ first_name: 'Slow' }))
      const slow = await RawConnection.open(stack().urls.gateway)
      await slow.write(head('PATCH', '/users/update-user/', {
        cookie: user.cookie, 'content-type': 'application/json', 'content-length': body.length
      }))
      await slow.write(body.subarray(0, 5))
      await sleep(100)

      const logout = await http.gateway.send('POST', '/users/logout/', { headers: { cookie: user.cookie } })
      await slow.write(body.subarray(5))
      const patched = await slow.response()
      slow.destroy()

      expect([logout.status, logout.headers['set-cookie']])
        .toEqual([200, 'sessionid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax'])
      expect([patched.status, patched.json().first_name]).toEqual([200, 'Slow'])
      expect(await stack().redis.client.exists(sessionKey(user.sessionId))).toBe(0)
      expect(await stack().redis.client.sismember(`user-sessions:${user.id}`, sessionKey(user.sessionId).slice(8)))
        .toBe(0)
      const after = await http.gateway.send('GET', '/users/current-user/', { headers: { cookie: user.cookie } })
      expect([after.status, after.body]).toEqual([401, SESSION_REQUIRED])
    })

    it('a superuser whose sessions are revoked loses /metrics/ on every service at once', async () => {
      const admin = await signedInSuperuser(stack(), 'root@example.com')
      const other = await logIn(http.gateway, { id: admin.id, email: admin.email, password: PASSWORD })
      const metrics = (cookie: string) => Promise.all([
        http.gateway.send('GET', '/metrics/', { headers: { cookie } }),
        http.profile.send('GET', '/metrics/', { headers: { cookie } }),
        http.media.send('GET', '/metrics/', { headers: { cookie } })
      ])
      expect((await metrics(admin.cookie)).map((answer) => answer.status)).toEqual([200, 200, 200])

      // Revocation: a password reset ends every session of the account.
      expect((await http.profile.send('POST', '/users/password/request-password-change/', {
        json: { email: admin.email }
      })).status).toBe(202)
      const { code } = codeOf(onlyMailTo(stack(), admin.email))
      const changed = await http.gateway.send('PUT', `/users/password/change-user-password/${admin.id}/`, {
        json: { token: code, password: 'a brand new password' }
      })
      expect(changed.status).toBe(200)

      for (const cookie of [admin.cookie, other.cookie]) {
        const answers = await metrics(cookie)
        expect(answers.map((answer) => [answer.status, answer.headers['content-type'], answer.body]))
          .toEqual(Array(3).fill([401, JSON_TYPE, SESSION_REQUIRED]))
      }
      expect(await stack().redis.client.exists(
        sessionKey(admin.sessionId), sessionKey(other.sessionId), `user-sessions:${admin.id}`)).toBe(0)
    })

    it('a normal user gets 403 from /metrics/ on every service', async () => {
      const user = await signedInUser(stack(), 'plain@example.com')
      const answers = await Promise.all([http.gateway, http.profile, http.media]
        .map((client) => client.send('GET', '/metrics/', { headers: { cookie: user.cookie } })))

      expect(answers.map((answer) => [answer.status, answer.body])).toEqual(Array(3).fill([403, FORBIDDEN]))
    })
  })

  describe('expiry', () => {
    const stack = useStack({
      label: 'expiry',
      profile: { SESSION_TTL: '2' },
      media: { SESSION_TTL: '2' },
      gateway: { SESSION_TTL: '2' }
    })
    const http = clients(stack)

    it('a session answers until its TTL and is gone, everywhere, right after', async () => {
      const user = await activeUser(stack(), 'brief@example.com')
      const login = await http.gateway.send('POST', '/users/login/', { json: { email: user.email, password: user.password } })
      const cookie = cookieOf(login)
      const key = sessionKey(cookie.slice('sessionid='.length))

      expect(String(login.headers['set-cookie'])).toMatch(/^sessionid=[\w-]{43}; Path=\/; Max-Age=2; HttpOnly; SameSite=Lax$/)
      const ttl = await stack().redis.client.pttl(key)
      expect(ttl > 1000 && ttl <= 2000).toBe(true)
      expect(await stack().redis.client.pttl(`user-sessions:${user.id}`)).toBeGreaterThan(1000)
      expect((await http.gateway.send('GET', '/users/current-user/', { headers: { cookie } })).status).toBe(200)

      await sleep(ttl + 50)
      const answers = await Promise.all([
        http.gateway.send('GET', '/users/current-user/', { headers: { cookie } }),
        http.profile.send('GET', '/users/current-user/', { headers: { cookie } }),
        http.media.send('DELETE', '/file/delete/?thumbnail_url=x', { headers: { cookie } }),
        http.gateway.send('POST', '/file/upload/', { headers: { cookie, 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--\r\n' })
      ])
      expect(answers.map((answer) => [answer.status, answer.body])).toEqual(Array(4).fill([401, SESSION_REQUIRED]))
      expect(await stack().redis.client.exists(key, `user-sessions:${user.id}`)).toBe(0)
    })
  })

  describe('brute force', () => {
    // The shipped limits: 5 failed logins per address (profile), 10 logins and 10 account
    // requests per client address and minute (gateway).
    const stack = useStack({
      label: 'brute',
      profile: { RATE_LIMIT_LOGIN_MAX: '5', RATE_LIMIT_MAIL_MAX: '5' },
      gateway: { LOGIN_RATE_LIMIT: '10', ACCOUNT_RATE_LIMIT: '10' }
    })
    const http = clients(stack)
    const gatewayCount = async (route: string) =>
      Number(await stack().redis.client.get(`rate-limit:${route}-127.0.0.1`) ?? 0)

    it('five wrong passwords for an address, then 429 for it, the right password included', async () => {
      const user = await activeUser(stack(), 'target@example.com')
      const attempt = (password: string) =>
        http.gateway.send('POST', '/users/login/', { json: { email: user.email, password } })

      const wrong = []
      for (let i = 0; i < 6; i++) wrong.push(await attempt(`guess number ${i}`))
      const right = await attempt(user.password)

      expect(wrong.slice(0, 5).map((answer) => [answer.status, answer.body]))
        .toEqual(Array(5).fill([401, INVALID_CREDENTIALS]))
      for (const refused of [wrong[5]!, right]) {
        expect([refused.status, refused.body.code, refused.headers['set-cookie']]).toEqual([429, 'PROFILE_RATE_LIMITED', undefined])
        const retryAfter = Number(refused.headers['retry-after'])
        expect(retryAfter > 0 && retryAfter <= 900).toBe(true)
      }
      expect(await sessionKeys(stack())).toEqual([])
      expect(await stack().redis.client.get(loginCounter(user.email))).toBe('7')
    })

    it('twenty parallel guesses for an address: exactly five are compared', async () => {
      const user = await activeUser(stack(), 'parallel@example.com')
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        http.profile.send('POST', '/users/login/', { json: { email: user.email, password: `parallel guess ${i}` } })))

      const statuses = answers.map((answer) => answer.status).sort()
      expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)])
      expect(await stack().redis.client.get(loginCounter(user.email))).toBe('20')
    })

    it('logins from one client address stop at the gateway limit, whatever the address tried', async () => {
      const used = await gatewayCount('POST/users/login/')
      const answers = []
      for (let i = used; i <= 10; i++) {
        answers.push(await http.gateway.send('POST', '/users/login/', { json: { email: `nobody${i}@example.com`, password: 'whatever it is' } }))
      }

      expect(answers.slice(0, -1).map((answer) => answer.status)).toEqual(Array(10 - used).fill(401))
      const limited = answers.at(-1)!
      expect([limited.status, limited.body.code]).toEqual([429, 'GATEWAY_RATE_LIMITED'])
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    })

    it('five wrong activation codes void the code: the right one then fails too, nothing activates', async () => {
      const email = 'codes@example.com'
      expect((await http.profile.send('POST', '/users/register/', {
        json: { email, first_name: 'C', last_name: 'D', password: PASSWORD }
      })).status).toBe(202)
      const { code, id } = codeOf(onlyMailTo(stack(), email))
      const activate = (token: string) => http.gateway.send('PUT', `/users/activate/${id}/`, { json: { token } })

      const answers = []
      for (let i = 0; i < 5; i++) answers.push(await activate(wrongCode(code)))
      answers.push(await activate(code))

      expect(answers.map((answer) => [answer.status, answer.body])).toEqual(Array(6).fill([422, INVALID_TOKEN]))
      expect(await stack().redis.client.exists(`token:activation:${id}`)).toBe(0)
      const { rows } = await stack().db.pool.query('SELECT is_active FROM users WHERE id = $1', [id])
      expect(rows).toEqual([{ is_active: false }])
    })

    it('twelve parallel guesses at a reset code compare at most five times, and void it', async () => {
      const user = await activeUser(stack(), 'reset@example.com')
      expect((await http.profile.send('POST', '/users/password/request-password-change/', {
        json: { email: user.email }
      })).status).toBe(202)
      const { code } = codeOf(onlyMailTo(stack(), user.email))
      const change = (token: string) => http.profile.send('PUT', `/users/password/change-user-password/${user.id}/`, {
        json: { token, password: 'the attacker password' }
      })

      const guesses = await Promise.all(Array.from({ length: 12 }, () => change(wrongCode(code))))
      const right = await change(code)

      expect([...guesses, right].map((answer) => [answer.status, answer.body]))
        .toEqual(Array(13).fill([422, INVALID_TOKEN]))
      expect(await stack().redis.client.exists(`token:reset:${user.id}`)).toBe(0)
      expect((await http.profile.send('POST', '/users/login/', { json: { email: user.email, password: user.password } })).status)
        .toBe(200)
    })

    it('code guesses from one client address stop at the gateway limit', async () => {
      const used = await gatewayCount('PUT/users/activate/*')
      const id = '00000000-0000-4000-8000-000000000000'
      const answers = []
      for (let i = used; i <= 10; i++) {
        answers.push(await http.gateway.send('PUT', `/users/activate/${id}/`, { json: { token: '000000' } }))
      }

      expect(answers.slice(0, -1).map((answer) => answer.status)).toEqual(Array(10 - used).fill(422))
      expect([answers.at(-1)!.status, answers.at(-1)!.body.code]).toEqual([429, 'GATEWAY_RATE_LIMITED'])
    })
  })
})
