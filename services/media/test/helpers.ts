import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { createMemorySessionStore, type SessionStore } from '@tessera/session'
import { appUrl, startS3Server, useTestApp, type TestS3Server } from '@tessera/testing'
import { afterAll, beforeAll, expect } from 'vitest'
import { buildApp, loadMediaConfig, type MediaConfig, type MediaDeps } from '../src/app.js'

export const PREFIX = 'thumbnails/'
export const MiB = 1024 * 1024
/** A key under a user's prefix, as uploads make them. */
export const KEY_FILE = '[0-9A-HJKMNP-TV-Z]{26}_[^/]+'

/** The environment of a media service on `s3`, path-style, listening on free ports. */
export function mediaEnv (s3: TestS3Server, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    COOKIE_SECURE: 'false',
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_CHECKSUM_WHEN_REQUIRED: 'true',
    S3_PUBLIC_URL: `${s3.endpoint}/${s3.bucket}`,
    ...overrides
  }
}

export function mediaConfig (s3: TestS3Server, overrides: Record<string, string> = {}): MediaConfig {
  return loadMediaConfig(mediaEnv(s3, overrides))
}

export interface SignedIn {
  userId: string
  cookie: string
}

/** A session for a fresh user (or `userId`), made directly in the store as login would. */
export async function signIn (store: SessionStore, userId: string = randomUUID()): Promise<SignedIn> {
  const id = await store.create({ user_id: userId, is_staff: false, is_superuser: false })
  return { userId, cookie: `sessionid=${id}` }
}

/** Retries `assertion` until it passes or `timeoutMs` runs out: for clean-up that runs after a reply. */
export async function eventually (assertion: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await assertion()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(50)
    }
  }
}

/** No object under the user's prefix and no incomplete multipart upload anywhere in the bucket. */
export async function expectNothingStored (s3: TestS3Server, userId: string): Promise<void> {
  expect(await s3.listObjects(`${PREFIX}${userId}/`)).toEqual([])
  expect(await s3.listMultipartUploads()).toEqual([])
}

export interface MediaTestContext {
  app: () => FastifyInstance
  s3: () => TestS3Server
  store: SessionStore
  /** `http://127.0.0.1:<port>` of the listening app. */
  url: () => string
  signIn: (userId?: string) => Promise<SignedIn>
}

/**
 * For one test file: an s3rver, a memory session store and the media app on them, listening on
 * a real socket. Everything is closed after the file.
 */
export function useMediaApp (options: {
  env?: Record<string, string>
  /** Sessions go into this store instead of a memory store of the file's own. */
  sessionStore?: () => SessionStore
  deps?: () => MediaDeps
} = {}): MediaTestContext {
  let s3: TestS3Server | undefined
  const memory = createMemorySessionStore({ ttlSeconds: 3600 })
  const store: SessionStore = {
    create: async (data) => await (options.sessionStore?.() ?? memory).create(data),
    get: async (id) => await (options.sessionStore?.() ?? memory).get(id),
    destroy: async (id) => await (options.sessionStore?.() ?? memory).destroy(id),
    destroyAllForUser: async (userId) => await (options.sessionStore?.() ?? memory).destroyAllForUser(userId)
  }

  beforeAll(async () => {
    s3 = await startS3Server()
  })

  afterAll(async () => {
    await s3?.close()
    await memory.close?.()
  })

  const context = {
    s3: () => {
      if (s3 === undefined) throw new Error('the S3 server exists only once beforeAll has run')
      return s3
    },
    store,
    signIn: (userId?: string) => signIn(store, userId)
  }

  const app = useTestApp(() => buildApp(mediaConfig(context.s3(), options.env), {
    s3: context.s3().client,
    sessionStore: store,
    logger: false,
    ...options.deps?.()
  }), { listen: true })

  return { ...context, app, url: () => appUrl(app()) }
}

/**
 * The value of the sample `name` in Prometheus text whose labels include `labels` (in any
 * order), or 0 when there is none yet.
 */
export function metricValue (text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue

    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, key, value]) => [key, value]))
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3])
  }
  return 0
}
