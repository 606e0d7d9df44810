import { createRedisSessionStore, hashSessionId } from '@tessera/session'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { request } from 'undici'
import { expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { mediaConfig, PREFIX, useMediaApp } from './helpers.js'
import { multipart, thumbnail } from './http.js'
import * as images from './storage/fixtures/images.js'

describeRedis('the media service with sessions in Redis', () => {
  const redis = useTestRedis()
  let sessions: ReturnType<typeof createRedisSessionStore> | undefined
  const store = () => (sessions ??= createRedisSessionStore({ redis: redis().client, ttlSeconds: 60 }))
  const ctx = useMediaApp({ sessionStore: store, deps: () => ({ redis: redis().client, sessionStore: undefined }) })

  async function upload (cookie: string) {
    const form = multipart([thumbnail(images.png())])
    const response = await request(`${ctx.url()}/file/upload/`, {
      method: 'POST',
      headers: { cookie, 'content-type': form.contentType },
      body: form.body
    })
    return { status: response.statusCode, body: await response.body.json() as Record<string, string> }
  }

  it('uploads and deletes for a session found in Redis under the key prefix', async () => {
    const { userId, cookie } = await ctx.signIn()
    const hash = hashSessionId(cookie.slice('sessionid='.length))
    expect(await redis().keys()).toEqual(expect.arrayContaining([`session:${hash}`, `user-sessions:${userId}`]))

    const uploaded = await upload(cookie)
    expect(uploaded.status).toBe(200)
    expect(uploaded.body.key).toMatch(new RegExp(`^${PREFIX}${userId}/`))

    const deleted = await request(`${ctx.url()}/file/delete/`, {
      method: 'DELETE',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ thumbnail_url: uploaded.body.s3_url })
    })
    expect(deleted.statusCode).toBe(204)
    await deleted.body.dump()
  })

  it('refuses a session once Redis no longer has it', async () => {
    const { userId, cookie } = await ctx.signIn()
    expect(await ctx.store.destroyAllForUser(userId)).toBe(1)

    const refused = await upload(cookie)

    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe('SESSION_REQUIRED')
    expect(await ctx.s3().listObjects(`${PREFIX}${userId}/`)).toEqual([])
  })

  it('checks Redis for readiness', async () => {
    const response = await request(`${ctx.url()}/readyz`)

    expect(response.statusCode).toBe(200)
    expect(await response.body.json()).toEqual({ status: 'ready', checks: { s3: 'ok', redis: 'ok' } })
  })

  it('connects to REDIS_URL itself, under REDIS_KEY_PREFIX', async () => {
    const { userId, cookie } = await ctx.signIn()
    const app = await buildApp(mediaConfig(ctx.s3(), {
      REDIS_URL: redis().url,
      REDIS_KEY_PREFIX: redis().prefix
    }), { s3: ctx.s3().client, logger: false })

    const form = multipart([thumbnail(images.png())])
    const uploaded = await app.inject({
      method: 'POST',
      url: '/file/upload/',
      headers: { cookie, 'content-type': form.contentType },
      payload: form.body
    })
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    await app.close()

    expect(uploaded.statusCode).toBe(200)
    expect(uploaded.json().key).toMatch(new RegExp(`^${PREFIX}${userId}/`))
    expect(ready.json()).toEqual({ status: 'ready', checks: { s3: 'ok', redis: 'ok' } })
  })
})
