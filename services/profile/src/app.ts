import swagger from '@fastify/swagger'
import { Type } from '@sinclair/typebox'
import { ConfigError } from '@tessera/config'
import { healthRoutes, httpConventions, serverOptions, taskLifecycle, type HealthCheck } from '@tessera/http'
import { metricsPlugin, sessionCounters } from '@tessera/metrics'
import {
  createMemorySessionStore, createRedisSessionStore, redisClientFor, sessionAuthPlugin, type SessionStore
} from '@tessera/session'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Redis } from 'ioredis'
import type { CountryCode } from 'libphonenumber-js/max'
import type pg from 'pg'
import packageJson from '../package.json' with { type: 'json' }
import { checkProfileConfig, type ProfileConfig } from './config.js'
import { runMigrations } from './data/migrate.js'
import { createUsers } from './data/users.js'
import { createAccounts } from './domain/accounts.js'
import { createPasswords, type Passwords } from './domain/passwords.js'
import {
  createMemoryTokenStore, createRedisTokenStore, createTokens, type TokenStore
} from './domain/tokens.js'
import { createMailer } from './mail/mailer.js'
import { poolFigures, registerPool, registerPoolGauges } from './postgres.js'
import { createMemoryRateLimiter, createRedisRateLimiter } from './rate-limit.js'
import { userRoutes, type UserRoutesOptions } from './routes/users.js'

export { checkProfileConfig, ProfileConfigSchema, type ProfileConfig } from './config.js'
export { ProfileErrors, profileErrorDocs } from './errors.js'
export type { User } from './data/users.js'

export const VERSION: string = packageJson.version

export interface ProfileDeps {
  /**
   * Used as is and never ended by the app. Without it @fastify/postgres opens one on DATABASE_URL
   * (and only then is `app.pg` decorated).
   */
  pool?: pg.Pool
  /** Sessions, codes, rate limits and readiness; its keyPrefix applies. Else from REDIS_URL. */
  redis?: Redis
  /** Shared by the embedded stack's three apps; defaults to Redis, else an in-process store. */
  sessionStore?: SessionStore
  /** Where activation and reset codes live; defaults like the session store. */
  tokenStore?: TokenStore
  logger?: FastifyServerOptions['logger'] | false
  /** The clock of the birth-date check and the in-process rate limits. */
  now?: () => Date
}

/** Where sessions, codes and attempt counters live: Redis when there is one, else this process. */
function storesFor (config: ProfileConfig, deps: ProfileDeps, clock: () => Date, redis?: Redis) {
  const ttlSeconds = config.SESSION_TTL
  if (redis === undefined) {
    return {
      sessionStore: deps.sessionStore ?? createMemorySessionStore({ ttlSeconds }),
      tokenStore: deps.tokenStore ?? createMemoryTokenStore(),
      limiter: createMemoryRateLimiter(() => clock().getTime())
    }
  }

  return {
    sessionStore: deps.sessionStore ?? createRedisSessionStore({ redis, ttlSeconds }),
    tokenStore: deps.tokenStore ?? createRedisTokenStore(redis, { prefix: 'token:' }),
    limiter: createRedisRateLimiter(redis)
  }
}

function passwordsFor (config: ProfileConfig): Passwords {
  const settings = {
    memoryCost: config.ARGON2_MEMORY_KIB,
    timeCost: config.ARGON2_TIME_COST,
    parallelism: config.ARGON2_PARALLELISM
  }
  try {
    return createPasswords(settings)
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    // The schema holds memory to the minimum, so only the passes can make the product too small
    const reason = `is too low for ARGON2_MEMORY_KIB=${settings.memoryCost}: ${err.message}`
    throw new ConfigError('ARGON2_TIME_COST', reason)
  }
}

function rateLimits (config: ProfileConfig): UserRoutesOptions['limits'] {
  const login = { max: config.RATE_LIMIT_LOGIN_MAX, windowSeconds: config.RATE_LIMIT_LOGIN_WINDOW }
  const mail = { max: config.RATE_LIMIT_MAIL_MAX, windowSeconds: config.RATE_LIMIT_MAIL_WINDOW }
  return {
    login: { name: 'login', ...login },
    register: { name: 'register', ...mail },
    regenerateToken: { name: 'regenerate-token', ...mail },
    requestPasswordChange: { name: 'request-password-change', ...mail }
  }
}

/**
 * The profile service: users and profiles in Postgres, sessions on login, e-mailed codes. Checks
 * the config (a ConfigError names a bad key), runs migrations when MIGRATE_ON_START, and does not
 * listen.
 */
export async function buildApp (config: ProfileConfig, deps: ProfileDeps = {}): Promise<FastifyInstance> {
  checkProfileConfig(config)
  const passwords = passwordsFor(config)

  const app = Fastify(serverOptions({
    level: config.LOG_LEVEL,
    service: 'profile',
    logger: deps.logger,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS
  }))
  const clock = deps.now ?? (() => new Date())
  const { redis, owned } = redisClientFor(config, deps.redis)
  if (owned) redis?.on('error', (err) => app.log.error({ err }, 'redis connection failed'))
  const { sessionStore, tokenStore, limiter } = storesFor(config, deps, clock, redis)
  const mailer = createMailer({
    smtpUrl: config.SMTP_URL,
    from: config.MAIL_FROM,
    frontendUrl: config.FRONTEND_URL,
    log: app.log,
    track: (task) => app.tasks.track(task)
  })

  // Added first, so it runs last: after in-flight requests and the tracked e-mails have finished
  app.addHook('onClose', async () => {
    mailer.close()
    if (deps.sessionStore === undefined) await sessionStore.close?.()
    if (owned) await redis?.quit().catch(() => redis.disconnect())
  })

  if (config.MEDIA_URL_SECRET === undefined) {
    app.log.warn('MEDIA_URL_SECRET is not set: a thumbnail URL is checked by its shape and owner only')
  }
  if (config.TOKEN_SECRET === undefined && redis !== undefined) {
    app.log.warn('TOKEN_SECRET is not set: codes in Redis are kept as plain SHA-256 digests')
  }

  try {
    await app.register(httpConventions)
    // Part of the grace period stays for closing the pool and Redis after the e-mails
    await app.register(taskLifecycle, { drainMs: Math.max(1, config.SHUTDOWN_GRACE_MS - 1000) })
    await app.register(swagger, {
      openapi: {
        info: { title: 'Tessera profile service', version: VERSION },
        components: {
          securitySchemes: { sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sessionid' } }
        }
      }
    })

    const pool = await registerPool(app, {
      pool: deps.pool, connectionString: config.DATABASE_URL, max: config.PG_POOL_MAX
    })
    if (config.MIGRATE_ON_START) {
      await runMigrations({ pool, log: app.log.child({ component: 'migrations' }) })
    }
    await passwords.ready()

    await app.register(sessionAuthPlugin, {
      store: sessionStore,
      ttlSeconds: config.SESSION_TTL,
      cookieSecure: config.COOKIE_SECURE,
      events: sessionCounters(app)
    })
    await app.register(metricsPlugin, {
      service: 'profile',
      version: VERSION,
      port: config.METRICS_PORT,
      host: config.HOST,
      database: () => poolFigures(pool, config.PG_POOL_MAX)
    })
    registerPoolGauges(app.tesseraMetrics.registry, pool)

    const checks: Record<string, HealthCheck> = { postgres: async () => await pool.query('SELECT 1') }
    if (redis !== undefined) checks.redis = async () => await redis.ping()
    await app.register(healthRoutes, { checks })

    app.get('/openapi.json', {
      config: { operation: 'profile.openapi' },
      schema: { hide: true, response: { 200: Type.Object({}, { additionalProperties: true }) } }
    }, async () => app.swagger())

    const tokens = createTokens({
      store: tokenStore, ttlSeconds: config.TOKEN_TTL, secret: config.TOKEN_SECRET
    })
    const accounts = createAccounts({
      users: createUsers(pool),
      passwords,
      tokens,
      mailer,
      media: { publicUrl: config.S3_PUBLIC_URL, keyPrefix: config.S3_KEY_PREFIX, secret: config.MEDIA_URL_SECRET },
      phoneRegion: config.PHONE_REGION as CountryCode | undefined,
      now: clock
    })
    await app.register(userRoutes, { accounts, limiter, limits: rateLimits(config) })
  } catch (err) {
    await app.close().catch(() => {})
    throw err
  }

  return app
}
