import { describeRedis } from '@tessera/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  createClient, eventually, head, logIn, PNG, pngOfSize, RawConnection, sessionKey, signedInUser,
  thumbnailForm, type Client, type SignedInUser
} from '../src/index.js'
import {
  BAD_GATEWAY, INTERNAL, JSON_TYPE, rows, SESSION_REQUIRED, SESSIONS_UNAVAILABLE, state, STORAGE_FAILED,
  UNAVAILABLE, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, useStack
} from './helpers.js'

const MiB = 1024 * 1024

describeRedis('faults', () => {
  const stack = useStack({
    label: 'faults',
    // A partitioned Postgres must cost a request seconds, not forever; here fewer than by default.
    databaseParams: { connect_timeout: '1', query_timeout: '1000' },
    media: { MAX_THUMBNAIL_BYTES: String(12 * MiB) },
    gateway: { UPSTREAM_TIMEOUT_MS: '3000', MAX_UPLOAD_BODY_BYTES: String(12 * MiB + 128 * 1024) }
  })
  let gateway: Client
  let profile: Client
  let media: Client
  let user: SignedInUser

  beforeAll(async () => {
    gateway = createClient(stack().urls.gateway, { timeoutMs: 12_000 })
    profile = createClient(stack().urls.profile, { timeoutMs: 12_000 })
    media = createClient(stack().urls.media, { timeoutMs: 12_000 })
    user = await signedInUser(stack(), 'faults@example.com')
  })

  afterAll(async () => {
    await Promise.all([gateway?.close(), profile?.close(), media?.close()])
  })

  const withSession = (extra: Record<string, string> = {}) => ({ cookie: user.cookie, ...extra })
  const currentUser = () => gateway.send('GET', '/users/current-user/', { headers: withSession() })
  const patch = (json: unknown) => gateway.send('PATCH', '/users/update-user/', { headers: withSession(), json })
  const upload = (data: Buffer = PNG) => {
    const form = thumbnailForm(data)
    return gateway.send('POST', '/file/upload/', {
      headers: withSession({ 'content-type': form.contentType }), body: form.body
    })
  }
  const outcome = (answer: { status: number, body: unknown, headers: Record<string, unknown> }) =>
    ({ status: answer.status, type: answer.headers['content-type'], body: answer.body })
  const failure = (status: number, body: object) => ({ status, type: JSON_TYPE, body })

  it('Postgres down: 500 JSON on what needs it, nothing written; back: it all works again', async () => {
    const before = await rows(stack())
    await stack().proxies.postgres.down()

    try {
      const answers = await Promise.all([
        currentUser(),
        patch({ first_name: 'Down' }),
        gateway.send('POST', '/users/login/', { json: { email: user.email, password: user.password } }),
        gateway.send('POST', '/users/register/', {
          json: { email: 'pg-down@example.com', first_name: 'A', last_name: 'B', password: 'long enough' }
        })
      ])
      expect(answers.map(outcome)).toEqual(Array(4).fill(failure(500, INTERNAL)))
      expect(outcome(await profile.send('GET', '/readyz'))).toEqual({
        status: 503, type: JSON_TYPE, body: { status: 'unavailable', checks: { postgres: 'unavailable', redis: 'ok' } }
      })
      expect((await gateway.send('GET', '/healthcheck/')).status).toBe(200)
    } finally {
      await stack().proxies.postgres.up()
    }

    expect(await rows(stack())).toEqual(before)
    expect((await patch({ first_name: 'Back' })).body.first_name).toBe('Back')
    expect((await currentUser()).body.first_name).toBe('Back')
    expect((await profile.send('GET', '/readyz')).status).toBe(200)
    const pool = stack().profilePool
    expect({ waiting: pool.waitingCount, withinMax: pool.totalCount <= 10 }).toEqual({ waiting: 0, withinMax: true })
  })

  it('Postgres partitioned: a bounded 500, not a request that hangs; healed: it works again', async () => {
    expect((await currentUser()).status).toBe(200)
    const before = await rows(stack())
    stack().proxies.postgres.stall()

    try {
      // One request on the idle pooled connection (query timeout), one that needs a new one
      // (connect timeout), and a transaction whose BEGIN and ROLLBACK both time out.
      const answers = await Promise.all([currentUser(), currentUser(), patch({ first_name: 'Partitioned' })])
      expect(answers.map(outcome)).toEqual(Array(3).fill(failure(500, INTERNAL)))
    } finally {
      await stack().proxies.postgres.up()
    }

    expect(await rows(stack())).toEqual(before)
    expect((await patch({ last_name: 'Healed' })).body.last_name).toBe('Healed')
    expect(stack().profilePool.waitingCount).toBe(0)
  })

  it('Redis down: 503 JSON where a session or a counter is needed, nothing written; back: it all works again', async () => {
    const before = await state(stack())
    await stack().proxies.redis.down()

    try {
      const answers = await Promise.all([
        currentUser(),
        upload(),
        gateway.send('DELETE', '/file/delete/?thumbnail_url=x', { headers: withSession() }),
        gateway.send('POST', '/users/login/', { json: { email: user.email, password: user.password } })
      ])
      expect(answers.map(outcome)).toEqual([
        failure(503, SESSIONS_UNAVAILABLE),
        failure(503, SESSIONS_UNAVAILABLE),
        failure(503, SESSIONS_UNAVAILABLE),
        failure(503, UNAVAILABLE)
      ])
      // Without a cookie nothing asks Redis.
      expect(outcome(await gateway.send('GET', '/users/current-user/'))).toEqual(failure(401, SESSION_REQUIRED))

      const ready = await Promise.all([gateway, profile, media].map((client) => client.send('GET', '/readyz')))
      expect(ready.map((answer) => [answer.status, answer.body.checks])).toEqual([
        [503, { redis: 'unavailable', profile: 'ok', media: 'ok' }],
        [503, { postgres: 'ok', redis: 'unavailable' }],
        [503, { s3: 'ok', redis: 'unavailable' }]
      ])
    } finally {
      await stack().proxies.redis.up()
    }

    expect(await state(stack())).toEqual(before)
    // Every service told its own log (not only the console) that Redis went away.
    const told = stack().logs.problems.filter((line) => line.msg === 'redis connection failed')
    expect(new Set(told.map((line) => line.service))).toEqual(new Set(['gateway', 'profile', 'media']))
    await eventually(async () => expect((await currentUser()).status).toBe(200))
    const again = await logIn(gateway, user)
    expect(await stack().redis.client.exists(sessionKey(again.sessionId))).toBe(1)
    const uploaded = await upload()
    expect(uploaded.status).toBe(200)
    expect(await stack().s3.listObjects(`thumbnails/${user.id}/`)).toEqual([uploaded.body.key])
  })

  it('Redis partitioned: a bounded 503, not a request that hangs; healed: it works again', async () => {
    await eventually(async () => expect((await currentUser()).status).toBe(200))
    stack().proxies.redis.stall()

    try {
      const answers = await Promise.all([currentUser(), upload()])
      expect(answers.map(outcome)).toEqual([failure(503, SESSIONS_UNAVAILABLE), failure(503, SESSIONS_UNAVAILABLE)])
    } finally {
      await stack().proxies.redis.up()
    }

    await eventually(async () => expect((await currentUser()).status).toBe(200))
  })

  it('S3 down: 500 JSON for uploads and deletes, nothing stored; back: it all works again', async () => {
    const kept = await upload()
    expect(kept.status).toBe(200)
    const before = await state(stack())
    await stack().proxies.s3.down()

    try {
      const answers = await Promise.all([
        upload(),
        upload(pngOfSize(6 * MiB)),
        gateway.send('DELETE', '/file/delete/', { headers: withSession(), json: { thumbnail_url: kept.body.s3_url } })
      ])
      expect(answers.map(outcome)).toEqual(Array(3).fill(failure(500, STORAGE_FAILED)))
      expect(outcome(await media.send('GET', '/readyz'))).toEqual({
        status: 503, type: JSON_TYPE, body: { status: 'unavailable', checks: { s3: 'unavailable', redis: 'ok' } }
      })
    } finally {
      await stack().proxies.s3.up()
    }

    expect(await state(stack())).toEqual(before)
    const deleted = await gateway.send('DELETE', '/file/delete/', {
      headers: withSession(), json: { thumbnail_url: kept.body.s3_url }
    })
    expect(deleted.status).toBe(204)
    const again = await upload()
    expect(again.status).toBe(200)
    expect(await stack().s3.listObjects(`thumbnails/${user.id}/`))
      .toEqual([...before.objects.filter((key) => key !== kept.body.key), again.body.key].sort())
  })

  it('S3 down half-way through a multipart upload: 500, and no incomplete upload is left once it is back', async () => {
    const before = await state(stack())
    const form = thumbnailForm(pngOfSize(8 * MiB))
    const connection = await RawConnection.open(stack().urls.gateway)
    await connection.write(head('POST', '/file/upload/', {
      cookie: user.cookie, 'content-type': form.contentType, 'content-length': form.body.length
    }))
    await connection.write(form.body.subarray(0, 6 * MiB))
    await eventually(async () => expect(await stack().s3.listMultipartUploads()).toHaveLength(1))

    await stack().proxies.s3.down()
    let answer
    try {
      await connection.write(form.body.subarray(6 * MiB))
      answer = await connection.response()
    } finally {
      await stack().proxies.s3.up()
      connection.destroy()
    }

    expect({ status: answer.status, body: answer.json() }).toEqual({ status: 500, body: STORAGE_FAILED })
    await eventually(async () => expect(await state(stack())).toEqual(before), 15_000, 200)
  })

  it('profile down behind the gateway: 503 JSON for its routes, media unaffected; back: it works again', async () => {
    await stack().proxies.profile.down()

    try {
      const answers = await Promise.all([
        currentUser(),
        gateway.send('POST', '/users/login/', { json: { email: user.email, password: user.password } })
      ])
      expect(answers.map(outcome)).toEqual(Array(2).fill(failure(503, UPSTREAM_UNAVAILABLE)))
      const ready = await gateway.send('GET', '/readyz')
      expect([ready.status, ready.body.checks]).toEqual([503, { profile: 'unavailable', redis: 'ok', media: 'ok' }])
      expect((await upload()).status).toBe(200)
    } finally {
      await stack().proxies.profile.up()
    }

    expect((await currentUser()).status).toBe(200)
    expect((await gateway.send('GET', '/readyz')).status).toBe(200)
  })

  it('profile partitioned from the gateway: 504 JSON after the route timeout; healed: it works again', async () => {
    stack().proxies.profile.stall()

    try {
      expect(outcome(await currentUser())).toEqual(failure(504, UPSTREAM_TIMEOUT))
    } finally {
      await stack().proxies.profile.up()
    }

    expect((await currentUser()).status).toBe(200)
  })

  it('media connection cut half-way through an upload: 502 JSON, nothing stored; back: it works again', async () => {
    const before = await state(stack())
    const form = thumbnailForm(pngOfSize(8 * MiB))
    const connection = await RawConnection.open(stack().urls.gateway)
    await connection.write(head('POST', '/file/upload/', {
      cookie: user.cookie, 'content-type': form.contentType, 'content-length': form.body.length
    }))
    await connection.write(form.body.subarray(0, 6 * MiB))
    await eventually(async () => expect(await stack().s3.listMultipartUploads()).toHaveLength(1))

    await stack().proxies.media.down()
    let answer
    try {
      answer = await connection.response()
    } finally {
      await stack().proxies.media.up()
      connection.destroy()
    }

    expect({ status: answer.status, connection: answer.headers.connection, body: answer.json() })
      .toEqual({ status: 502, connection: 'close', body: BAD_GATEWAY })
    await eventually(async () => expect(await state(stack())).toEqual(before), 15_000, 200)
    expect((await upload()).status).toBe(200)
  })
})
