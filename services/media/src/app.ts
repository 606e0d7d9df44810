import type { S3Client } from '@aws-sdk/client-s3'
import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Redis } from 'ioredis'
import { healthRoutes, httpConventions, serverOptions, taskLifecycle, type HealthCheck } from '@tessera/http'
import { assertKeyPrefix } from '@tessera/media-url'
import { metricsPlugin, sessionCounters } from '@tessera/metrics'
import {
  createMemorySessionStore,
  createRedisSessionStore,
  sessionAuthPlugin,
  redisClientFor, type SessionStore
} from '@tessera/session'
import packageJson from '../package.json' with { type: 'json' }
import { ensureBucket } from './bucket.js'
import type { MediaConfig } from './config.js'
import { inFlightUploads } from './in-flight.js'
import { fileRoutes } from './routes/files.js'
import { OpenApiDocumentSchema } from './schemas/files.js'
import { bucketReachable, createS3Client } from './storage/s3-client.js'

export { loadMediaConfig, MediaConfigSchema, type MediaConfig } from './config.js'
export { isMediaError, MediaErrors, mediaErrorDocs } from './errors.js'

export const VERSION: string = packageJson.version

export interface MediaDeps {
  /** Defaults to a client built from the S3_* keys, destroyed on close. */
  s3?: S3Client
  /** Sessions and readiness; its keyPrefix applies. Created from REDIS_URL if absent. */
  redis?: Redis
  /** Shared with the other apps; defaults to a Redis store on `redis`, else an in-process one. */
  sessionStore?: SessionStore
  logger?: FastifyServerOptions['logger'] | false
}

function s3For (config: MediaConfig, deps: MediaDeps): S3Client {
  return deps.s3 ?? createS3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    checksumWhenRequired: config.S3_CHECKSUM_WHEN_REQUIRED
  })
}

function readinessChecks (s3: S3Client, bucket: string, redis?: Redis): Record<string, HealthCheck> {
  const checks: Record<string, HealthCheck> = {
    s3: async () => {
      if (!await bucketReachable(s3, bucket)) throw new Error(`bucket ${bucket} is not reachable`)
    }
  }
  if (redis !== undefined) checks.redis = async () => await redis.ping()
  return checks
}

async function openApiRoute (app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', {
    config: { operation: 'media.openapi' },
    schema: { hide: true, response: { 200: OpenApiDocumentSchema } }
  }, async () => app.swagger())
}

/**
 * The media service: streams thumbnails into S3 (`POST /file/upload/`) and deletes them
 * (`DELETE /file/delete/`), plus `/livez`, `/readyz`, `/metrics/` and `/openapi.json`.
 * Does not listen.
 */
export async function buildApp (config: MediaConfig, deps: MediaDeps = {}): Promise<FastifyInstance> {
  assertKeyPrefix(config.S3_KEY_PREFIX)

  const app = Fastify(serverOptions({
    level: config.LOG_LEVEL,
    service: 'media',
    logger: deps.logger,
    // Bounds a client that trickles or stalls a body, uploads included.
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS
  }))

  const { redis, owned } = redisClientFor(config, deps.redis)
  // Without a listener ioredis prints each failed reconnect to the console instead of the log.
  if (owned) redis?.on('error', (err) => app.log.error({ err }, 'redis connection failed'))
  const store = deps.sessionStore ?? (redis === undefined
    ? createMemorySessionStore({ ttlSeconds: config.SESSION_TTL })
    : createRedisSessionStore({ redis, ttlSeconds: config.SESSION_TTL }))
  const s3 = s3For(config, deps)

  app.addHook('onClose', async () => {
    if (deps.s3 === undefined) s3.destroy()
    if (deps.sessionStore === undefined) await store.close?.()
    if (owned) await redis?.quit()
  })

  try {
    if (config.S3_CREATE_BUCKET && await ensureBucket(s3, config.S3_BUCKET)) {
      app.log.info({ bucket: config.S3_BUCKET }, 'created the bucket')
    }

    await app.register(httpConventions)
    await app.register(taskLifecycle)
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'Tessera media', version: VERSION },
        tags: [{ name: 'media', description: 'Thumbnail upload and delete' }],
        components: {
          securitySchemes: { sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sessionid' } }
        }
      }
    })
    await app.register(inFlightUploads, { graceMs: config.SHUTDOWN_GRACE_MS })

    await app.register(sessionAuthPlugin, {
      store,
      ttlSeconds: config.SESSION_TTL,
      cookieSecure: config.COOKIE_SECURE,
      events: sessionCounters(app)
    })
    await app.register(metricsPlugin, {
      service: 'media',
      version: VERSION,
      port: config.METRICS_PORT,
      host: config.HOST
    })
    await app.register(healthRoutes, { checks: readinessChecks(s3, config.S3_BUCKET, redis) })
    await app.register(openApiRoute)

    await app.register(fileRoutes, {
      client: s3,
      bucket: config.S3_BUCKET,
      publicUrl: config.S3_PUBLIC_URL,
      keyPrefix: config.S3_KEY_PREFIX,
      urlSecret: config.MEDIA_URL_SECRET,
      maxBytes: config.MAX_THUMBNAIL_BYTES,
      partSize: config.UPLOAD_PART_SIZE,
      queueSize: config.UPLOAD_QUEUE_SIZE
    })
  } catch (err) {
    await app.close().catch(() => {})
    throw err
  }

  return app
}
