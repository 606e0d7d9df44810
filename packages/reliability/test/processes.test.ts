import { loadConfig } from '@tessera/config'
import { buildApp as buildGateway, GatewayConfigSchema } from '@tessera/gateway'
import { createRedisSessionStore } from '@tessera/session'
import {
  appUrl, describeRedis, getFreePort, startS3Server, useTestDatabase, useTestRedis, type TestS3Server
} from '@tessera/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  activeUser, CHEAP_ARGON2, createClient, eventually, head, logIn, pngOfSize, RawConnection, thumbnailForm
} from '../src/index.js'
import { killAll, startService, type ServiceProcess } from '../src/processes.js'
import { JSON_TYPE, UPSTREAM_UNAVAILABLE } from './helpers.js'

const MiB = 1024 * 1024

describeRedis('service processes', () => {
  const db = useTestDatabase({ label: 'processes' })
  const redis = useTestRedis({ label: 'processes' })
  let s3: TestS3Server

  beforeAll(async () => {
    s3 = await startS3Server()
  })

  afterAll(async () => {
    await killAll()
    await s3?.close()
  })

  const profileEnv = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db().connectionString,
    REDIS_URL: redis().url,
    REDIS_KEY_PREFIX: redis().prefix,
    ...CHEAP_ARGON2,
    ...extra
  })

  const mediaEnv = (extra: Record<string, string> = {}) => ({
    REDIS_URL: redis().url,
    REDIS_KEY_PREFIX: redis().prefix,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_PUBLIC_URL: `${s3.endpoint}/${s3.bucket}`,
    MAX_THUMBNAIL_BYTES: String(12 * MiB),
    ...extra
  })

  const shuttingDown = (service: ServiceProcess) => service.logged((line) => line.msg === 'shutting down')

  async function signedIn (service: ServiceProcess, email: string) {
    const client = createClient(service.url)
    try {
      return await logIn(client, await activeUser(service, email))
    } finally {
      await client.close()
    }
  }

  /**
   * Resolves once the service has one request in flight besides the asking one: its superuser
   * snapshot counts requests received and responses sent.
   */
  async function inFlight (service: ServiceProcess): Promise<void> {
    const cookie = await sessionFor(crypto.randomUUID(), true)
    const client = createClient(service.url)
    try {
      await eventually(async () => {
        const { body } = await client.send('GET', '/metrics/', { headers: { cookie } })
        expect(body.total_requests_received - body.total_responses_sent).toBe(2)
      })
    } finally {
      await client.close()
    }
  }

  async function sessionFor (userId: string, isSuperuser = false): Promise<string> {
    const store = createRedisSessionStore({ redis: redis().client, ttlSeconds: 600 })
    return `sessionid=${await store.create({ user_id: userId, is_staff: isSuperuser, is_superuser: isSuperuser })}`
  }

  async function firstName (email: string): Promise<string> {
    const { rows } = await db().pool.query('SELECT first_name FROM users WHERE email = $1', [email])
    return rows[0].first_name
  }

  /** Resolves once the user's upload has reached S3 as a multipart upload: it is in flight. */
  async function inMultipartUpload (userId: string): Promise<void> {
    await eventually(async () => {
      const uploads = await s3.listMultipartUploads()
      expect(uploads.filter((upload) => upload.key.includes(userId))).toHaveLength(1)
    })
  }

  /** Sends the head and the first `sent` bytes of a request whose body is `body`. */
  async function startRequest (url: string, method: string, path: string, headers: Record<string, string>,
    body: Buffer, sent: number) {
    const connection = await RawConnection.open(url)
    await connection.write(head(method, path, { ...headers, 'content-length': body.length }))
    await connection.write(body.subarray(0, sent))
    return connection
  }

  it.concurrent('SIGTERM during a PATCH on a kept-alive connection: answered with Connection: close, then exit 0, not held to the grace', async () => {
    const profile = await startService('profile', profileEnv({ SHUTDOWN_GRACE_MS: '20000' }))
    const user = await signedIn(profile, 'sigterm-patch@example.com')
    const body = Buffer.from(JSON.stringify({ first_name: 'Grace' }))
    const connection = await startRequest(profile.url, 'PATCH', '/users/update-user/', {
      cookie: user.cookie, 'content-type': 'application/json'
    }, body, 4)
    await inFlight(profile)

    profile.child.kill('SIGTERM')
    await shuttingDown(profile)
    await connection.write(body.subarray(4))
    const answer = await connection.response()
    const exit = await profile.exited

    expect({ status: answer.status, connection: answer.headers.connection, name: answer.json().first_name })
      .toEqual({ status: 200, connection: 'close', name: 'Grace' })
    // Exit 1 would be close-with-grace giving up on a close() held by the kept-alive connection.
    expect(exit).toEqual({ code: 0, signal: null })
    expect(await firstName(user.email)).toBe('Grace')
    await connection.closed
  })

  it.concurrent('SIGTERM during a PATCH whose body never comes: nothing written, exit 1 at the grace', async () => {
    const profile = await startService('profile', profileEnv({ SHUTDOWN_GRACE_MS: '1500' }))
    const user = await signedIn(profile, 'sigterm-stall@example.com')
    const body = Buffer.from(JSON.stringify({ first_name: 'Never' }))
    const connection = await startRequest(profile.url, 'PATCH', '/users/update-user/', {
      cookie: user.cookie, 'content-type': 'application/json'
    }, body, 4)

    await inFlight(profile)

    profile.child.kill('SIGTERM')
    const exit = await profile.exited
    await connection.closed

    expect(exit).toEqual({ code: 1, signal: null })
    expect(await firstName(user.email)).toBe('Ada')
  })

  it.concurrent('SIGTERM during an upload that finishes within the cutoff: stored whole, then exit 0', async () => {
    const media = await startService('media', mediaEnv({ SHUTDOWN_GRACE_MS: '20000' }))
    const userId = crypto.randomUUID()
    const data = pngOfSize(8 * MiB)
    const form = thumbnailForm(data)
    const connection = await startRequest(media.url, 'POST', '/file/upload/', {
      cookie: await sessionFor(userId), 'content-type': form.contentType
    }, form.body, 6 * MiB)
    await inMultipartUpload(userId)

    media.child.kill('SIGTERM')
    await media.logged((line) => line.msg === 'waiting for uploads to finish')
    await connection.write(form.body.subarray(6 * MiB))
    const answer = await connection.response()
    const exit = await media.exited

    expect({ status: answer.status, connection: answer.headers.connection, size: answer.json().size })
      .toEqual({ status: 200, connection: 'close', size: 8 * MiB })
    expect(exit).toEqual({ code: 0, signal: null })
    expect(await s3.listObjects(`thumbnails/${userId}/`)).toEqual([answer.json().key])
    expect((await s3.readObject(answer.json().key)).equals(data)).toBe(true)
  })

  it.concurrent('SIGTERM during an upload that stalls past the cutoff: 503 JSON, nothing left in S3, exit 0', async () => {
    const media = await startService('media', mediaEnv({ SHUTDOWN_GRACE_MS: '2000' }))
    const userId = crypto.randomUUID()
    const form = thumbnailForm(pngOfSize(8 * MiB))
    const connection = await startRequest(media.url, 'POST', '/file/upload/', {
      cookie: await sessionFor(userId), 'content-type': form.contentType
    }, form.body, 6 * MiB)
    await inMultipartUpload(userId)

    media.child.kill('SIGTERM')
    const answer = await connection.response()
    const exit = await media.exited

    expect({ status: answer.status, type: answer.headers['content-type'], body: answer.json() }).toEqual({
      status: 503,
      type: JSON_TYPE,
      body: { error: 'the service is shutting down; please try again', code: 'MEDIA_SHUTTING_DOWN' }
    })
    expect(exit).toEqual({ code: 0, signal: null })
    expect(await s3.listObjects(`thumbnails/${userId}/`)).toEqual([])
    expect((await s3.listMultipartUploads()).filter((upload) => upload.key.includes(userId))).toEqual([])
    connection.destroy()
  })

  it.concurrent('profile killed behind the gateway: 503 JSON while gone, the same session served once restarted', async () => {
    const port = await getFreePort()
    let profile = await startService('profile', profileEnv(), port)
    const gateway = await buildGateway(loadConfig(GatewayConfigSchema, {
      LOG_LEVEL: 'silent',
      METRICS_PORT: '0',
      PROFILE_URL: profile.url,
      MEDIA_URL: `http://127.0.0.1:${await getFreePort()}`,
      REDIS_URL: redis().url,
      REDIS_KEY_PREFIX: redis().prefix
    }), { logger: false })
    await gateway.listen({ host: '127.0.0.1', port: 0 })
    const client = createClient(appUrl(gateway))

    try {
      const user = await signedIn(profile, 'killed@example.com')
      const current = () => client.send('GET', '/users/current-user/', { headers: { cookie: user.cookie } })
      expect((await current()).status).toBe(200)

      expect(await profile.kill()).toEqual({ code: null, signal: 'SIGKILL' })
      const gone = await current()
      expect({ status: gone.status, type: gone.headers['content-type'], body: gone.body })
        .toEqual({ status: 503, type: JSON_TYPE, body: UPSTREAM_UNAVAILABLE })

      profile = await startService('profile', profileEnv(), port)
      const back = await current()
      expect([back.status, back.body.email]).toEqual([200, user.email])
    } finally {
      await client.close()
      await gateway.close()
      await profile.kill()
    }
  })
})
