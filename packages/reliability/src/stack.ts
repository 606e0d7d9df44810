import { loadConfig } from '@tessera/config'
import { buildApp as buildGateway, GatewayConfigSchema } from '@tessera/gateway'
import { loggerOptions } from '@tessera/http'
import { buildApp as buildMedia, loadMediaConfig } from '@tessera/media'
import { buildApp as buildProfile, ProfileConfigSchema } from '@tessera/profile'
import {
  appUrl, createTestDatabase, createTestRedis, databaseUrl, redisUrl, startS3Server,
  type TestDatabase, type TestRedis, type TestS3Server
} from '@tessera/testing'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { createLogSink, type LogSink } from './logs.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

export type Env = Record<string, string>

export interface StackOptions {
  /** Part of the schema and key prefix names. */
  label?: string
  profile?: Env
  media?: Env
  gateway?: Env
  /** Query parameters added to the profile's DATABASE_URL, e.g. `query_timeout=1000`. */
  databaseParams?: Record<string, string>
  /** pino level of the three apps; default `info` (the profile's e-mails are logged at info). */
  logLevel?: string
}

export interface Proxies {
  postgres: TcpProxy
  redis: TcpProxy
  s3: TcpProxy
  /** Between the gateway and each service. */
  profile: TcpProxy
  media: TcpProxy
}

/** Argon2 at OWASP's cheapest listed setting: valid, and quick enough for many logins. */
export const CHEAP_ARGON2 = { ARGON2_MEMORY_KIB: '7168', ARGON2_TIME_COST: '5' }

/** A limit no test reaches; the rate-limit tests set their own. */
const UNREACHED = '100000'

export interface Stack {
  /** Straight to this stack's schema, for assertions (not through the proxy). */
  db: TestDatabase
  /** Straight to Redis with this stack's key prefix. */
  redis: TestRedis
  s3: TestS3Server
  proxies: Proxies
  apps: { gateway: FastifyInstance, profile: FastifyInstance, media: FastifyInstance }
  /** The gateway, and each service directly (not through its proxy). */
  urls: { gateway: string, profile: string, media: string }
  /** The pool the profile service made from its DATABASE_URL (through the Postgres proxy). */
  profilePool: pg.Pool
  logs: LogSink
  /** The public URL prefix of stored objects, `<S3_PUBLIC_URL>/`. */
  publicUrl: string
  close (): Promise<void>
}

function withParams (url: string, params: Record<string, string>): string {
  const parsed = new URL(url)
  for (const [name, value] of Object.entries(params)) parsed.searchParams.set(name, value)
  return parsed.toString()
}

function hostAndPort (url: string, defaultPort: number) {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) }
}

/**
 * Gateway, profile and media in this process, each building its own clients from its config
 * as in production, with every dependency reached through a proxy the test controls: Postgres
 * (this stack's own schema), Redis (its own key prefix), an S3 server of its own, and the two
 * services behind the gateway.
 */
export async function startStack (options: StackOptions = {}): Promise<Stack> {
  const closers: Array<() => Promise<unknown>> = []
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => {})
  }

  try {
    const redisBase = redisUrl()
    if (redisBase === undefined) throw new Error('the reliability suite needs REDIS_URL')

    const db = await createTestDatabase({ label: options.label })
    closers.push(db.drop)
    const redis = await createTestRedis({ label: options.label })
    closers.push(redis.cleanup)
    const s3 = await startS3Server()
    closers.push(s3.close)

    const postgres = await startTcpProxy(hostAndPort(databaseUrl(), 5432))
    closers.push(postgres.close)
    const redisProxy = await startTcpProxy(hostAndPort(redisBase, 6379))
    closers.push(redisProxy.close)
    const s3Proxy = await startTcpProxy(hostAndPort(s3.endpoint, 80))
    closers.push(s3Proxy.close)

    const logs = createLogSink()
    const level = options.logLevel ?? 'info'
    const logger = (service: string) => ({ ...loggerOptions({ level, service }), stream: logs.stream })
    const publicUrl = `${s3.endpoint}/${s3.bucket}`
    const shared: Env = {
      LOG_LEVEL: level,
      METRICS_PORT: '0',
      COOKIE_SECURE: 'false',
      REDIS_URL: redisProxy.url(redisBase),
      REDIS_KEY_PREFIX: redis.prefix,
      S3_PUBLIC_URL: publicUrl
    }

    const profile = await buildProfile(loadConfig(ProfileConfigSchema, {
      ...shared,
      ...CHEAP_ARGON2,
      DATABASE_URL: withParams(postgres.url(db.connectionString), options.databaseParams ?? {}),
      RATE_LIMIT_LOGIN_MAX: UNREACHED,
      RATE_LIMIT_MAIL_MAX: UNREACHED,
      ...options.profile
    }), { logger: logger('profile') })
    closers.push(() => profile.close())
    await profile.listen({ host: '127.0.0.1', port: 0 })

    const media = await buildMedia(loadMediaConfig({
      ...shared,
      S3_ENDPOINT: s3Proxy.url(s3.endpoint),
      S3_REGION: s3.region,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      S3_CHECKSUM_WHEN_REQUIRED: 'true',
      ...options.media
    }), { logger: logger('media') })
    closers.push(() => media.close())
    await media.listen({ host: '127.0.0.1', port: 0 })

    const urls = { profile: appUrl(profile), media: appUrl(media) }
    const profileProxy = await startTcpProxy(hostAndPort(urls.profile, 80))
    closers.push(profileProxy.close)
    const mediaProxy = await startTcpProxy(hostAndPort(urls.media, 80))
    closers.push(mediaProxy.close)

    const gateway = await buildGateway(loadConfig(GatewayConfigSchema, {
      ...shared,
      PROFILE_URL: profileProxy.url(urls.profile),
      MEDIA_URL: mediaProxy.url(urls.media),
      LOGIN_RATE_LIMIT: UNREACHED,
      ACCOUNT_RATE_LIMIT: UNREACHED,
      PASSWORD_RATE_LIMIT: UNREACHED,
      UPLOAD_RATE_LIMIT: UNREACHED,
      ...options.gateway
    }), { logger: logger('gateway') })
    closers.push(() => gateway.close())
    await gateway.listen({ host: '127.0.0.1', port: 0 })

    return {
      db,
      redis,
      s3,
      proxies: { postgres, redis: redisProxy, s3: s3Proxy, profile: profileProxy, media: mediaProxy },
      apps: { gateway, profile, media },
      urls: { gateway: appUrl(gateway), ...urls },
      profilePool: (profile as unknown as { pg: { pool: pg.Pool } }).pg.pool,
      logs,
      publicUrl: `${publicUrl}/`,
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}
