import { loadConfig } from '@tessera/config'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type pg from 'pg'
import { expect } from 'vitest'
import { ProfileConfigSchema, type ProfileConfig } from '../../src/app.js'
import { createUsers } from '../../src/data/users.js'
import { createPasswords } from '../../src/domain/passwords.js'
import { codeAndIdIn, type Mail, type Mailbox } from './mailbox.js'

export const FRONTEND_URL = 'http://localhost:5173'
export const S3_PUBLIC_URL = 'http://127.0.0.1:9000/tessera'
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const JSON_TYPE = 'application/json; charset=utf-8'
export const USER_KEYS = ['id', 'email', 'first_name', 'last_name', 'is_active', 'is_staff',
  'is_superuser', 'thumbnail', 'date_joined', 'profile']
export const PROFILE_KEYS = ['id', 'user_id', 'phone_number', 'birth_date', 'github_link']

/** Argon2 at OWASP's cheapest listed setting (m=7 MiB, t=5): valid, and quicker than the default. */
export const TEST_ARGON2 = { memoryCost: 7168, timeCost: 5, parallelism: 1 }

/** The app's config for a test: quiet, cheaper argon2, the given database and overrides. */
export function testConfig (databaseUrl: string, env: Record<string, string> = {}): ProfileConfig {
  return loadConfig(ProfileConfigSchema, {
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'silent',
    FRONTEND_URL,
    S3_PUBLIC_URL,
    MAIL_FROM: 'Tessera <no-reply@tessera.test>',
    ARGON2_MEMORY_KIB: String(TEST_ARGON2.memoryCost),
    ARGON2_TIME_COST: String(TEST_ARGON2.timeCost),
    ...env
  })
}

let seedHash: Promise<string> | undefined

/**
 * An active user written straight through the repository, for tests about what comes after
 * registration: no e-mail round trip. The password is `correct horse`.
 */
export async function seedUser (pool: pg.Pool, email: string): Promise<{ id: string, email: string }> {
  seedHash ??= createPasswords(TEST_ARGON2).hash('correct horse')
  const users = createUsers(pool)
  const user = await users.register({ email, firstName: 'Ada', lastName: 'Lovelace', passwordHash: await seedHash })
  await users.activate(user.id)
  return { id: user.id, email }
}

/** The single `sessionid` value a response set. */
export function sessionIdOf (response: LightMyRequestResponse): string {
  const header = response.headers['set-cookie']
  expect(typeof header).toBe('string')
  const id = /^sessionid=([A-Za-z0-9_-]{43}); /.exec(String(header))?.[1]
  if (id === undefined) throw new Error(`no session cookie in ${String(header)}`)
  return id
}

export const cookie = (id: string) => ({ cookie: `sessionid=${id}` })

/** Helpers that drive one app through its HTTP API, reading codes from a real mailbox. */
export function driver (app: () => FastifyInstance, mailbox?: () => Mailbox) {
  /** Waits for the app's tracked sends, then takes the messages to `address`. */
  async function mailsTo (address: string): Promise<Mail[]> {
    if (mailbox === undefined) throw new Error('this driver was given no mailbox')

    expect(await app().tasks.drain(10_000)).toBe(true)
    return mailbox().take(address)
  }

  async function onlyMailTo (address: string): Promise<Mail> {
    const mails = await mailsTo(address)
    expect(mails).toHaveLength(1)
    return mails[0]!
  }

  async function register (email: string, password = 'correct horse', names = ['Ada', 'Lovelace']) {
    const response = await app().inject({
      method: 'POST',
      url: '/users/register/',
      payload: { email, first_name: names[0], last_name: names[1], password }
    })
    expect(response.statusCode).toBe(202)
    return codeAndIdIn(await onlyMailTo(email))
  }

  async function activate (id: string, token: string) {
    return app().inject({ method: 'PUT', url: `/users/activate/${id}/`, payload: { token } })
  }

  async function login (email: string, password: string, headers: Record<string, string> = {}) {
    return app().inject({ method: 'POST', url: '/users/login/', payload: { email, password }, headers })
  }

  /** Registers and activates; returns the id and the credentials. */
  async function activeUser (email: string, password = 'correct horse') {
    const { id, code } = await register(email, password)
    expect((await activate(id, code)).statusCode).toBe(200)
    return { id, email, password }
  }

  /** An active user with a session. */
  async function signedIn (email: string, password = 'correct horse') {
    const user = await activeUser(email, password)
    const response = await login(email, password)
    expect(response.statusCode).toBe(200)
    return { ...user, session: sessionIdOf(response) }
  }

  /** A seeded user (see seedUser) with a session. */
  async function seededSession (pool: pg.Pool, email: string) {
    const user = await seedUser(pool, email)
    const response = await login(email, 'correct horse')
    expect(response.statusCode).toBe(200)
    return { ...user, password: 'correct horse', session: sessionIdOf(response) }
  }

  async function currentUser (session: string) {
    return app().inject({ method: 'GET', url: '/users/current-user/', headers: cookie(session) })
  }

  async function patch (session: string, payload: unknown) {
    return app().inject({
      method: 'PATCH', url: '/users/update-user/', headers: cookie(session), payload: payload as object
    })
  }

  return {
    mailsTo, onlyMailTo, register, activate, login, activeUser, signedIn, seededSession, currentUser, patch
  }
}

/** Both rows of a user, as stored, for comparing before and after a request. */
export async function rowsOf (pool: pg.Pool, id: string) {
  const user = await pool.query('SELECT * FROM users WHERE id = $1', [id])
  const profile = await pool.query(`SELECT id, user_id, phone_number, github_link,
    to_char(birth_date, 'YYYY-MM-DD') AS birth_date FROM user_profile WHERE user_id = $1`, [id])
  return { user: user.rows, profile: profile.rows }
}
