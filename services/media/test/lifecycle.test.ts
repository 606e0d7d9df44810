import { createMemorySessionStore } from '@tessera/session'
import { appUrl, startS3Server, type TestS3Server } from '@tessera/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { uploadCutoffMs } from '../src/in-flight.js'
import { eventually, expectNothingStored, mediaConfig, MiB, PREFIX, signIn } from './helpers.js'
import { multipart, RawConnection, requestHead, thumbnail } from './http.js'
import * as images from './storage/fixtures/images.js'
import { sha256 } from './storage/helpers.js'

let s3: TestS3Server
const store = createMemorySessionStore({ ttlSeconds: 3600 })
let app: FastifyInstance | undefined

beforeAll(async () => {
  s3 = await startS3Server()
})

afterAll(async () => {
  await s3.close()
  await store.close?.()
})

afterEach(async () => {
  await app?.close()
  app = undefined
})

async function start (env: Record<string, string>) {
  const config = mediaConfig(s3, { MAX_THUMBNAIL_BYTES: String(8 * MiB), ...env })
  app = await buildApp(config, { s3: s3.client, sessionStore: store, logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return app
}

/** Opens an upload of `data` on a raw socket and sends its first `sent` bytes. */
async function startUpload (server: FastifyInstance, cookie: string, data: Buffer, sent: number) {
  const form = multipart([thumbnail(data)])
  const connection = await RawConnection.open(appUrl(server))
  await connection.write(requestHead('POST', '/file/upload/', {
    cookie,
    'content-type': form.contentType,
    'content-length': form.body.length
  }))
  await connection.write(form.body.subarray(0, sent))
  return { connection, rest: form.body.subarray(sent) }
}

describe('uploadCutoffMs', () => {
  it('leaves half the grace, at most 5 s, for discarding uploads', () => {
    expect(uploadCutoffMs(10_000)).toBe(5000)
    expect(uploadCutoffMs(30_000)).toBe(25_000)
    expect(uploadCutoffMs(1000)).toBe(500)
    expect(uploadCutoffMs(1)).toBe(1)
  })
})

describe('shutting down', () => {
  it('lets an upload that finishes within the grace complete, then closes its connection', async () => {
    const server = await start({ SHUTDOWN_GRACE_MS: '20000' })
    const { userId, cookie } = await signIn(store)
    const data = images.padded(images.png(), 2 * MiB)
    const { connection, rest } = await startUpload(server, cookie, data, MiB)
    await eventually(async () => expect(server.mediaUploads.size).toBe(1))

    const closed = server.close()
    await connection.write(rest)
    const response = await connection.response()

    expect(response.status).toBe(200)
    expect(response.headers.connection).toBe('close')
    await closed
    app = undefined
    expect(sha256(await s3.readObject(response.json().key))).toBe(sha256(data))
    expect(await s3.listObjects(`${PREFIX}${userId}/`)).toEqual([response.json().key])
  })

  it('cuts off an upload that outlasts its part of the grace, leaving nothing', async () => {
    const server = await start({ SHUTDOWN_GRACE_MS: '1000' })
    const { userId, cookie } = await signIn(store)
    const { connection } = await startUpload(server, cookie, images.padded(images.png(), 6 * MiB), 5.5 * MiB)
    await eventually(async () => expect(await s3.listMultipartUploads()).toHaveLength(1))

    const closed = server.close()
    const response = await connection.response()

    expect(response.status).toBe(503)
    expect(response.json()).toEqual({
      error: 'the service is shutting down; please try again',
      code: 'MEDIA_SHUTTING_DOWN'
    })
    expect(response.headers.connection).toBe('close')
    await closed
    app = undefined
    await expectNothingStored(s3, userId)
    connection.destroy()
  })
})

describe('a client that stalls', () => {
  it('gets the 408 envelope, not Fastify\'s default body, when REQUEST_TIMEOUT_MS runs out', async () => {
    const server = await start({ REQUEST_TIMEOUT_MS: '1000' })
    const { userId, cookie } = await signIn(store)
    const { connection } = await startUpload(server, cookie, images.padded(images.png(), 2 * MiB), MiB)

    const response = await connection.response()
    await connection.closed

    expect([response.status, response.headers['content-type'], response.json()]).toEqual([408,
      'application/json; charset=utf-8', { error: 'the request was not received in time', code: 'HTTP_REQUEST_TIMEOUT' }])
    await eventually(() => expectNothingStored(s3, userId))
  })

  it('is cut off after REQUEST_TIMEOUT_MS, leaving nothing', async () => {
    const server = await start({ REQUEST_TIMEOUT_MS: '1000' })
    const { userId, cookie } = await signIn(store)
    const { connection } = await startUpload(server, cookie, images.padded(images.png(), 6 * MiB), 5.5 * MiB)

    await connection.closed

    await eventually(() => expectNothingStored(s3, userId))
    await eventually(async () => expect(server.mediaUploads.size).toBe(0))
  })
})
