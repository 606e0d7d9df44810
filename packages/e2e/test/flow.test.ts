import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSuperuser } from '@tessera/profile/superuser'
import {
  createTestDatabase, createTestRedis, describeRedis, getFreePort, startS3Server,
  type TestDatabase, type TestRedis, type TestS3Server
} from '@tessera/testing'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { httpClient, metricValue, sessionCookieOf, thumbnailForm, type Reply } from './helpers/http.js'
import { activationIn, startMailbox, type Mailbox } from './helpers/mailbox.js'
import { smallPng } from './helpers/png.js'
import {
  dumpOutput, killAll, startProcess, stop, waitUntilUp, type ServiceProcess
} from './helpers/processes.js'

// Media signs the object ids it issues with this; profile accepts only signed thumbnail URLs.
const MEDIA_URL_SECRET = 'an end-to-end media URL secret, 32+ characters'
const SERVICES_DIR = fileURLToPath(new URL('../../../services/', import.meta.url))
const serviceDir = (name: string) => join(SERVICES_DIR, name)
const versionOf = (name: string): string =>
  JSON.parse(readFileSync(join(serviceDir(name), 'package.json'), 'utf8')).version

const GRACE_MS = 10_000
const FRONTEND_URL = 'http://frontend.test'
// The cheapest argon2id setting the profile service accepts
const ARGON2 = { memoryCost: 7168, timeCost: 5, parallelism: 1 }
const JSON_TYPE = 'application/json; charset=utf-8'
const MiB = 1024 * 1024
const COOKIE = /^sessionid=([\w-]{43}); Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/
const OBJECT_ID = '[0-9A-HJKMNP-TV-Z]{26}'
const STORED = 'outcome="stored"'
const UPLOADS = 'tessera_upload_duration_seconds_count'
const SNAPSHOT_KEYS = [
  'version', 'timestamp', 'goroutines', 'database', 'memstats', 'total_requests_received',
  'total_responses_sent', 'total_processing_time_μs', 'total_responses_sent_by_status', 'cmdline'
]
const USER_KEYS = [
  'id', 'email', 'first_name', 'last_name', 'is_active', 'is_staff', 'is_superuser', 'thumbnail',
  'date_joined', 'profile'
]

interface Stack {
  gateway: ServiceProcess
  profile: ServiceProcess
  mediaA: ServiceProcess
  mediaB: ServiceProcess
  gatewayUrl: string
  mediaUrls: { a: string, b: string }
  metricsUrls: Record<'gateway' | 'profile' | 'mediaA' | 'mediaB', string>
}

// The AWS SDK warns on stderr that its releases from 2027 on need Node 22: expected on Node 20
const SDK_WARNING = /^\(node:\d+\) Warning: NodeVersionSupportWarning: [\s\S]*?to show where the warning was created\)\n/
const withoutSdkWarning = (stderr: string) => stderr.replace(SDK_WARNING, '')

/** A distinct free port for each name. */
async function freePorts<K extends string> (names: K[]): Promise<Record<K, number>> {
  const ports = {} as Record<K, number>
  for (const name of names) {
    let port = await getFreePort()
    while (Object.values(ports).includes(port)) port = await getFreePort()
    ports[name] = port
  }
  return ports
}

/** Gateway, profile and two media replicas, each its own process, sharing Postgres, Redis and S3. */
async function startStack (db: TestDatabase, redis: TestRedis, s3: TestS3Server, mailbox: Mailbox) {
  const { gw, gwMetrics, profile, profileMetrics, a, aMetrics, b, bMetrics } = await freePorts([
    'gw', 'gwMetrics', 'profile', 'profileMetrics', 'a', 'aMetrics', 'b', 'bMetrics'
  ])
  const publicUrl = `${s3.endpoint}/${s3.bucket}`
  const shared = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    COOKIE_SECURE: 'false',
    SHUTDOWN_GRACE_MS: String(GRACE_MS)
  }
  const media = (port: number, metricsPort: number) => ({
    ...shared,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_PUBLIC_URL: publicUrl,
    S3_KEY_PREFIX: 'thumbnails/',
    MEDIA_URL_SECRET
  })
  const mediaUrls = { a: `http://127.0.0.1:${a}`, b: `http://127.0.0.1:${b}` }

  const stack: Stack = {
    profile: startProcess('profile', {
      cwd: serviceDir('profile'),
      env: {
        ...shared,
        PORT: String(profile),
        METRICS_PORT: String(profileMetrics),
        DATABASE_URL: db.connectionString,
        SMTP_URL: mailbox.url,
        MAIL_FROM: 'Tessera <no-reply@tessera.test>',
        FRONTEND_URL,
        TOKEN_SECRET: 'an end-to-end secret of more than 32 characters',
        S3_PUBLIC_URL: publicUrl,
        S3_KEY_PREFIX: 'thumbnails/',
        MEDIA_URL_SECRET,
        ARGON2_MEMORY_KIB: String(ARGON2.memoryCost),
        ARGON2_TIME_COST: String(ARGON2.timeCost)
      }
    }),
    mediaA: startProcess('media-a', { cwd: serviceDir('media'), env: media(a, aMetrics) }),
    mediaB: startProcess('media-b', { cwd: serviceDir('media'), env: media(b, bMetrics) }),
    gateway: startProcess('gateway', {
      cwd: serviceDir('gateway'),
      env: {
        ...shared,
        PORT: String(gw),
        METRICS_PORT: String(gwMetrics),
        PROFILE_URL: `http://127.0.0.1:${profile}`,
        MEDIA_URL: `${mediaUrls.a},${mediaUrls.b}`
      }
    }),
    gatewayUrl: `http://127.0.0.1:${gw}`,
    mediaUrls,
    metricsUrls: {
      gateway: `http://127.0.0.1:${gwMetrics}/metrics`,
      profile: `http://127.0.0.1:${profileMetrics}/metrics`,
      mediaA: `http://127.0.0.1:${aMetrics}/metrics`,
      mediaB: `http://127.0.0.1:${bMetrics}/metrics`
    }
  }

  await Promise.all([
    waitUntilUp(stack.profile, `http://127.0.0.1:${profile}/livez`),
    waitUntilUp(stack.mediaA, `${mediaUrls.a}/livez`),
    waitUntilUp(stack.mediaB, `${mediaUrls.b}/livez`),
    waitUntilUp(stack.gateway, `${stack.gatewayUrl}/livez`)
  ])
  return stack
}

describeRedis('Tessera end to end: gateway, profile and two media replicas as processes', () => {
  const png = smallPng()
  const ada = { email: 'ada@example.com', password: 'correct horse battery' }
  const root = { email: 'root@example.com', password: 'a superuser password' }

  let db: TestDatabase | undefined
  let redis: TestRedis | undefined
  let s3: TestS3Server | undefined
  let mailbox: Mailbox | undefined
  let stack: Stack
  let http: ReturnType<typeof httpClient>
  let dumped = false

  // State carried from one step of the flow to the next
  let userId = ''
  let cookie = ''
  let user: Record<string, any> = {}
  const uploads: Array<{ s3_url: string, key: string }> = []

  const call = (method: string, path: string, options: Parameters<typeof http.send>[2] = {}) =>
    http.send(method, path, options)
  const upload = (withCookie = cookie) =>
    call('POST', '/file/upload/', { cookie: withCookie, form: thumbnailForm(png, 'picture.png', 'image/png') })
  const uploadsStoredBy = async (url: string) => metricValue(await (await fetch(url)).text(), UPLOADS, STORED)
  const statusAndBody = (reply: Reply) => ({ status: reply.status, body: reply.json() })

  beforeAll(async () => {
    try {
      db = await createTestDatabase({ label: 'e2e' })
      redis = await createTestRedis({ label: 'e2e' })
      s3 = await startS3Server({ bucket: 'tessera-e2e' })
      mailbox = await startMailbox()
      stack = await startStack(db, redis, s3, mailbox)
      http = httpClient(stack.gatewayUrl)
    } catch (err) {
      dumped = true
      dumpOutput()
      throw err
    }
  }, 180_000)

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (dumped) return
      dumped = true
      dumpOutput()
    })
  })

  afterAll(async () => {
    await killAll()
    await http?.close()
    await mailbox?.close()
    await s3?.close()
    await redis?.cleanup()
    await db?.drop()
  }, 60_000)

  it('registers: 202, a code by e-mail, and the code activates the account', async () => {
    const registered = await call('POST', '/users/register/', {
      json: { email: ada.email, first_name: 'Ada', last_name: 'Lovelace', password: ada.password }
    })
    expect([registered.status, registered.headers['content-type'], registered.json()])
      .toEqual([202, JSON_TYPE, { message: 'check your e-mail for the activation code' }])

    const mail = await mailbox!.waitFor(ada.email)
    const activation = activationIn(mail)
    userId = activation.userId
    expect(mail.text).toContain(`\nEnter it at ${FRONTEND_URL}/auth/activate/${userId}\n`)
    const before = await db!.pool.query('SELECT is_active FROM users WHERE id = $1', [userId])
    expect(before.rows).toEqual([{ is_active: false }])

    const activated = await call('PUT', `/users/activate/${userId}/`, { json: { token: activation.code } })
    expect(statusAndBody(activated)).toEqual({ status: 200, body: { message: 'your account has been activated' } })
    const after = await db!.pool.query('SELECT is_active FROM users WHERE id = $1', [userId])
    expect(after.rows).toEqual([{ is_active: true }])
  })

  it('logs in with exactly one Set-Cookie, stored in the shared Redis; current-user reads it', async () => {
    const login = await call('POST', '/users/login/', { json: ada })
    expect(login.status).toBe(200)
    expect(login.headers['set-cookie']).toMatch(COOKIE)
    cookie = sessionCookieOf(login)
    user = login.json()

    expect(Object.keys(user)).toEqual(USER_KEYS)
    expect(user).toEqual({
      id: userId,
      email: ada.email,
      first_name: 'Ada',
      last_name: 'Lovelace',
      is_active: true,
      is_staff: false,
      is_superuser: false,
      thumbnail: null,
      date_joined: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      profile: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        user_id: userId,
        phone_number: null,
        birth_date: null,
        github_link: null
      }
    })
    const hash = createHash('sha256').update(cookie.slice('sessionid='.length)).digest('hex')
    expect(await redis!.keys()).toContain(`session:${hash}`)

    const current = await call('GET', '/users/current-user/', { cookie })
    expect([current.status, current.headers['content-type'], current.json()]).toEqual([200, JSON_TYPE, user])
  })

  it('uploads a PNG four times, round-robin over both media replicas, into the S3 server', async () => {
    for (let i = 0; i < 4; i++) {
      const reply = await upload()
      expect(statusAndBody(reply)).toEqual({
        status: 200,
        body: {
          s3_url: `${s3!.endpoint}/${s3!.bucket}/${reply.json().key}`,
          key: expect.stringMatching(new RegExp(`^thumbnails/${userId}/${OBJECT_ID}_picture\\.png$`)),
          size: png.length,
          content_type: 'image/png'
        }
      })
      uploads.push(reply.json())
    }

    // Each replica served two of the four uploads, by its own Prometheus counter
    expect({
      a: await uploadsStoredBy(stack.metricsUrls.mediaA),
      b: await uploadsStoredBy(stack.metricsUrls.mediaB)
    }).toEqual({ a: 2, b: 2 })

    expect(await s3!.listObjects(`thumbnails/${userId}/`)).toEqual(uploads.map((u) => u.key).sort())
    const object = await fetch(uploads[0]!.s3_url)
    expect([object.status, object.headers.get('content-type'), Buffer.from(await object.arrayBuffer())])
      .toEqual([200, 'image/png', png])
  })

  it('PATCH update-user stores the thumbnail, phone, birth date and GitHub link', async () => {
    const patched = await call('PATCH', '/users/update-user/', {
      cookie,
      json: {
        thumbnail: uploads[0]!.s3_url,
        phone_number: '+1 650 253 0000',
        birth_date: '1990-12-10',
        github_link: 'https://www.github.com/ada-l'
      }
    })
    const expected = {
      ...user,
      thumbnail: uploads[0]!.s3_url,
      profile: {
        ...user.profile,
        phone_number: '+16502530000',
        birth_date: '1990-12-10',
        github_link: 'https://github.com/ada-l'
      }
    }
    expect(statusAndBody(patched)).toEqual({ status: 200, body: expected })

    const current = await call('GET', '/users/current-user/', { cookie })
    expect(statusAndBody(current)).toEqual({ status: 200, body: expected })
    user = expected
  })

  it('deletes the thumbnail: 204 with no body, and the object URL is then 404 on the S3 server', async () => {
    const removed = await call('DELETE', '/file/delete/', { cookie, json: { thumbnail_url: uploads[0]!.s3_url } })
    expect([removed.status, removed.text]).toEqual([204, ''])

    const object = await fetch(uploads[0]!.s3_url)
    await object.body?.cancel()
    expect(object.status).toBe(404)
    expect(await s3!.listObjects(`thumbnails/${userId}/`)).toEqual(uploads.slice(1).map((u) => u.key).sort())
  })

  it('refuses bodies over their limit with a 413 envelope through the gateway, never a 502, storing nothing', async () => {
    const before = await s3!.listObjects(`thumbnails/${userId}/`)
    const padded = (bytes: number) => Buffer.concat([png, Buffer.alloc(bytes - png.length)])
    const refusedBy = (limit: number) => ({
      status: 413, body: { error: `body must not be larger than ${limit} bytes`, code: 'GATEWAY_PAYLOAD_TOO_LARGE' }
    })
    const outcomes = []
    for (let i = 0; i < 3; i++) {
      // Over the gateway's bound: refused there, by its Content-Length.
      const big = thumbnailForm(padded(6 * MiB), 'big.png', 'image/png')
      outcomes.push(['6 MiB', statusAndBody(await call('POST', '/file/upload/', { cookie, form: big }))])
      // Under the gateway's bound, over media's MAX_THUMBNAIL_BYTES: media's own 413 comes through.
      const over = thumbnailForm(padded(5 * MiB + 40 * 1024), 'over.png', 'image/png')
      outcomes.push(['5 MiB + 40 KiB', statusAndBody(await call('POST', '/file/upload/', { cookie, form: over }))])
    }
    for (const bytes of [1_100_000, 2_000_000, 20_000_000]) {
      const json = { first_name: 'x'.repeat(bytes) }
      outcomes.push([`${bytes} B of JSON`, statusAndBody(await call('PATCH', '/users/update-user/', { cookie, json }))])
    }
    const form = { body: `thumbnail_url=${'x'.repeat(2_000_000)}`, type: 'application/x-www-form-urlencoded' }
    outcomes.push(['2 MB form', statusAndBody(await call('DELETE', '/file/delete/', { cookie, raw: form }))])

    const mediaRefused = { status: 413, body: { error: 'the file must not be larger than 5242880 bytes', code: 'MEDIA_TOO_LARGE' } }
    expect(outcomes).toEqual([
      ...Array(3).fill([['6 MiB', refusedBy(5 * MiB + 128 * 1024)], ['5 MiB + 40 KiB', mediaRefused]]).flat(),
      ['1100000 B of JSON', refusedBy(MiB)],
      ['2000000 B of JSON', refusedBy(MiB)],
      ['20000000 B of JSON', refusedBy(MiB)],
      ['2 MB form', refusedBy(16 * 1024)]
    ])
    expect(await s3!.listObjects(`thumbnails/${userId}/`)).toEqual(before)
    expect(await s3!.listMultipartUploads()).toEqual([])
  })

  it('passes a service\'s 431 for headers the gateway added to through in the envelope', async () => {
    // Under the gateway's 16 KiB; its X-Forwarded-* and request id take it over profile's.
    const reply = await call('GET', '/users/current-user/', { cookie, headers: { 'x-big': 'a'.repeat(16_200) } })

    expect([reply.headers['content-type'], statusAndBody(reply)]).toEqual([JSON_TYPE, {
      status: 431, body: { error: 'the request headers are too large', code: 'HTTP_HEADERS_TOO_LARGE' }
    }])
  })

  it('logs out: the cookie is cleared, and the old cookie is 401 at profile and at media', async () => {
    const logout = await call('POST', '/users/logout/', { cookie })
    expect([logout.status, logout.headers['set-cookie'], logout.json()])
      .toEqual([200, 'sessionid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax', { message: 'you have been logged out' }])

    const unauthenticated = {
      status: 401,
      body: { error: 'you must be authenticated to access this resource', code: 'SESSION_REQUIRED' }
    }
    expect(statusAndBody(await call('GET', '/users/current-user/', { cookie }))).toEqual(unauthenticated)
    expect(statusAndBody(await upload())).toEqual(unauthenticated)
  })

  it('a superuser reads /metrics/ with the snapshots of gateway, profile and media', async () => {
    const { created } = await createSuperuser({
      databaseUrl: db!.connectionString, email: root.email, password: root.password, argon2: ARGON2
    })
    expect(created).toBe(true)
    const login = await call('POST', '/users/login/', { json: root })
    expect([login.status, login.json().is_superuser]).toEqual([200, true])

    const metrics = await call('GET', '/metrics/', { cookie: sessionCookieOf(login) })
    expect([metrics.status, metrics.headers['content-type']]).toEqual([200, JSON_TYPE])
    const body = metrics.json()
    expect(Object.keys(body)).toEqual([...SNAPSHOT_KEYS, 'services'])
    expect(Object.keys(body.services)).toEqual(['gateway', 'profile', 'media'])
    for (const name of ['gateway', 'profile', 'media'] as const) {
      const snapshot = body.services[name]
      // Each snapshot comes from the service's own process: its own server.ts on the command line
      expect([Object.keys(snapshot), snapshot.version, snapshot.cmdline])
        .toEqual([SNAPSHOT_KEYS, versionOf(name), [process.execPath, join(serviceDir(name), 'src/server.ts')]])
    }
    expect(body.services.profile.database)
      .toEqual({ total_count: expect.any(Number), idle_count: expect.any(Number), waiting_count: 0, max: 10 })

    // Ada is signed in again for the next steps, and is no superuser
    const again = await call('POST', '/users/login/', { json: ada })
    cookie = sessionCookieOf(again)
    expect(statusAndBody(await call('GET', '/metrics/', { cookie }))).toEqual({
      status: 403,
      body: {
        error: 'your user account does not have the necessary permissions to access this resource',
        code: 'GUARD_FORBIDDEN'
      }
    })
  })

  it('with one media replica stopped, POSTs to it are 503 and idempotent requests move on', async () => {
    expect(await stop(stack.mediaB, 'SIGTERM')).toEqual({ code: 0, signal: null })
    const storedByA = await uploadsStoredBy(stack.metricsUrls.mediaA)

    // Round-robin still hands every other request to the stopped replica. An upload is not
    // idempotent, so the gateway does not resend it: the one that meets the refused connection is
    // the gateway's 503 (nothing was forwarded), the other is stored by replica A
    const replies = [await upload(), await upload()]
    const statuses = replies.map((reply) => reply.status)
    expect([...statuses].sort()).toEqual([200, 503])
    expect(replies[statuses.indexOf(503)]!.json()).toEqual({
      error: 'the service is temporarily unavailable, please try again later',
      code: 'GATEWAY_UPSTREAM_UNAVAILABLE'
    })
    expect(await uploadsStoredBy(stack.metricsUrls.mediaA)).toBe(storedByA + 1)

    // A DELETE is idempotent: the one handed to the stopped replica is sent on to replica A
    for (const { s3_url: url } of uploads.slice(1, 3)) {
      const removed = await call('DELETE', '/file/delete/', { cookie, json: { thumbnail_url: url } })
      expect([removed.status, removed.text]).toEqual([204, ''])
    }
    const refused = stack.gateway.logLines().filter((line) => line.msg === 'replica refused connection')
    expect(refused.map(({ upstream, replica }) => ({ upstream, replica })))
      .toEqual([{ upstream: 'media', replica: stack.mediaUrls.b }])

    const ready = await fetch(`${stack.gatewayUrl}/readyz`)
    expect([ready.status, await ready.json()])
      .toEqual([200, { status: 'ready', checks: { profile: 'ok', media: 'ok', redis: 'ok' } }])
  })

  it('every process exits 0 on SIGTERM, within its shutdown grace', async () => {
    // Past SHUTDOWN_GRACE_MS the services exit with code 1, so 0 means they finished in time
    const exits = await Promise.all([stack.gateway, stack.profile, stack.mediaA].map((proc) => stop(proc)))

    expect(exits).toEqual([
      { code: 0, signal: null }, { code: 0, signal: null }, { code: 0, signal: null }
    ])
    expect([stack.gateway, stack.profile, stack.mediaA, stack.mediaB].map((proc) => withoutSdkWarning(proc.stderr)))
      .toEqual(['', '', '', ''])
  }, 60_000)
})
