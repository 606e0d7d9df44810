import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { getFreePort, useTestDatabase, waitForUrl } from '@tessera/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runMigrations } from '../src/data/migrate.js'
import { seedUser, TEST_ARGON2 } from './helpers/app.js'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface Server {
  child: ChildProcess
  exited: Promise<Exit>
}

const running = new Set<ChildProcess>()

// Only what the process is given here: none of the test runner's DATABASE_URL, REDIS_URL, ...
function start (env: Record<string, string>): Server {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: PACKAGE_DIR,
    env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', MEDIA_URL_SECRET: 'm'.repeat(32), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)

  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit').then(([code, signal]) => {
    running.delete(child)
    return { code, signal, stdout, stderr } as Exit
  })
  return { child, exited }
}

/** The connection string with the Postgres session's own TimeZone set too. */
function withServerZone (url: string, zone: string): string {
  const parsed = new URL(url)
  const options = parsed.searchParams.get('options') ?? ''
  parsed.searchParams.set('options', `${options} -c TimeZone=${zone}`.trim())
  return parsed.toString()
}

// A test that failed half-way leaves no server behind
afterAll(() => {
  for (const child of running) child.kill('SIGKILL')
})

describe('server.ts at boot', () => {
  const DATABASE_URL = 'postgres://postgres@127.0.0.1:1/unreachable'

  // One failure of each kind: the schema (loadConfigOrExit), a cross-key check and the database
  // (both in buildApp); config.test.ts covers the other keys in-process
  it.concurrent.each([
    [{ DATABASE_URL, PORT: 'abc' }, 'invalid configuration: PORT must be an integer between 0 and 65535 (got "abc")'],
    [{ PORT: '8081' }, 'invalid configuration: DATABASE_URL is required'],
    [{ DATABASE_URL, ARGON2_TIME_COST: '1' }, 'invalid configuration: ARGON2_TIME_COST is too low for ' +
      'ARGON2_MEMORY_KIB=19456: argon2 settings m=19456 t=1 p=1 are below the OWASP minimum'],
    [{ DATABASE_URL }, 'profile: start-up failed: connect ECONNREFUSED 127.0.0.1:1']
  ])('stops with one line naming the bad key (%j)', async (env, line) => {
    const { code, stderr, stdout } = await start(env).exited

    expect({ code, stderr, stdout }).toEqual({ code: 1, stderr: line + '\n', stdout: '' })
  })
})

describe('server.ts running', () => {
  const db = useTestDatabase()
  const password = 'correct horse'

  beforeAll(async () => {
    await runMigrations({ pool: db().pool })
    await seedUser(db().pool, 'tokyo@example.com')
    await seedUser(db().pool, 'la@example.com')
  })

  async function serve (tz: string, pgZone: string) {
    const [port, metricsPort] = [await getFreePort(), await getFreePort()]
    const server = start({
      TZ: tz,
      DATABASE_URL: withServerZone(db().connectionString, pgZone),
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'silent',
      COOKIE_SECURE: 'false',
      ARGON2_MEMORY_KIB: String(TEST_ARGON2.memoryCost),
      ARGON2_TIME_COST: String(TEST_ARGON2.timeCost)
    })
    const base = `http://127.0.0.1:${port}`
    await waitForUrl(`${base}/livez`, { ok: (status) => status === 200, timeoutMs: 20_000 })
    return { ...server, base, metrics: `http://127.0.0.1:${metricsPort}/metrics` }
  }

  async function birthDateThrough (base: string, email: string, birthDate: string) {
    const login = await fetch(`${base}/users/login/`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password })
    })
    expect(login.status).toBe(200)
    // COOKIE_SECURE=false drops only `Secure`
    expect(login.headers.get('set-cookie'))
      .toMatch(/^sessionid=[\w-]{43}; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/)
    const cookie = String(login.headers.get('set-cookie')).split(';')[0]!

    const patched = await fetch(`${base}/users/update-user/`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ birth_date: birthDate })
    })
    const current = await fetch(`${base}/users/current-user/`, { headers: { cookie } })
    const { rows } = await db().pool.query(`SELECT to_char(p.birth_date, 'YYYY-MM-DD') AS d
      FROM user_profile p JOIN users u ON u.id = p.user_id WHERE u.email = $1`, [email])
    const birthDateIn = async (response: Response) =>
      ((await response.json()) as { profile: { birth_date: string | null } }).profile.birth_date
    return {
      patched: [patched.status, await birthDateIn(patched)],
      read: [current.status, await birthDateIn(current)],
      stored: rows[0].d
    }
  }

  // Each zone has its own user, so that the two servers can run at once
  it.concurrent.each([
    ['Asia/Tokyo', 'Pacific/Kiritimati', 'tokyo@example.com', '2000-01-01'],
    ['America/Los_Angeles', 'Pacific/Pago_Pago', 'la@example.com', '1999-12-31']
  ])('under TZ=%s answers /livez, keeps birth_date as the same day, exits 0 on SIGTERM', async (
    tz, pgZone, email, day
  ) => {
    const server = await serve(tz, pgZone)

    expect(await birthDateThrough(server.base, email, day))
      .toEqual({ patched: [200, day], read: [200, day], stored: day })
    const prometheus = await fetch(server.metrics)
    expect([prometheus.status, (await prometheus.text()).includes('tessera_pg_pool_connections{service="profile"}')])
      .toEqual([200, true])

    server.child.kill('SIGTERM')
    const { code, signal, stderr } = await server.exited
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' })
  })
})
