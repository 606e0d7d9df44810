import { ConfigError, ConfigTypes, Type, type Static } from '@tessera/config'
import { assertKeyPrefix, DEFAULT_KEY_PREFIX, DEFAULT_PUBLIC_URL, objectUrl } from '@tessera/media-url'
import { isSupportedCountry } from 'libphonenumber-js/max'

const { Count, Millis } = ConfigTypes

export const TOKEN_SECRET_MIN_LENGTH = 32

export const ProfileConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: ConfigTypes.Port(8081),
  METRICS_PORT: ConfigTypes.Port(9101),
  LOG_LEVEL: ConfigTypes.LogLevel(),
  /** Bound of the whole shutdown: in-flight requests, then e-mails still being sent. */
  SHUTDOWN_GRACE_MS: Millis(10_000),
  /** A client must send a whole request, body included, within this. */
  REQUEST_TIMEOUT_MS: Millis(30_000),

  DATABASE_URL: ConfigTypes.Url(),
  PG_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  MIGRATE_ON_START: ConfigTypes.Bool(true),

  REDIS_URL: Type.Optional(ConfigTypes.Url()),
  REDIS_KEY_PREFIX: Type.String({ default: '' }),
  SESSION_TTL: ConfigTypes.Seconds(86_400),
  COOKIE_SECURE: ConfigTypes.Bool(true),

  /** Lifetime of activation codes; reset codes live twice as long. */
  TOKEN_TTL: ConfigTypes.Seconds(900),
  /** HMAC key for the code digests kept in Redis; checked apart so that it is never echoed. */
  TOKEN_SECRET: Type.Optional(Type.String()),
  /** Shared with media: only object ids it signed with this are accepted as thumbnails. */
  MEDIA_URL_SECRET: ConfigTypes.Secret(),

  SMTP_URL: Type.Optional(ConfigTypes.Url()),
  MAIL_FROM: Type.String({ minLength: 3, default: 'Tessera <no-reply@tessera.local>' }),
  FRONTEND_URL: ConfigTypes.Url({ default: 'http://localhost:5173' }),

  /** Must match the media service's: only URLs it issued are accepted as thumbnails. */
  S3_PUBLIC_URL: ConfigTypes.PublicUrl(DEFAULT_PUBLIC_URL),
  S3_KEY_PREFIX: ConfigTypes.KeyPrefix(DEFAULT_KEY_PREFIX),
  /** Region for phone numbers written without `+<country code>`, e.g. `US`; unset refuses them. */
  PHONE_REGION: Type.Optional(Type.String({
    pattern: '^[A-Z]{2}$',
    description: 'a two-letter region code such as US'
  })),

  /** Argon2id cost; below OWASP's minimum (m=7 MiB with t=5, or the same m×t product) is refused. */
  ARGON2_MEMORY_KIB: Type.Integer({ minimum: 7168, maximum: 4_194_304, default: 19_456 }),
  ARGON2_TIME_COST: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),

  /** Per address: login attempts that did not succeed, within the window (a success clears it). */
  RATE_LIMIT_LOGIN_MAX: Count(5),
  RATE_LIMIT_LOGIN_WINDOW: ConfigTypes.Seconds(900),
  /** Per address and route: register, regenerate-token and request-password-change (each mails). */
  RATE_LIMIT_MAIL_MAX: Count(5),
  RATE_LIMIT_MAIL_WINDOW: ConfigTypes.Seconds(3600)
})

export type ProfileConfig = Static<typeof ProfileConfigSchema>

function probe (key: string, check: () => unknown): void {
  try {
    check()
  } catch (err) {
    throw new ConfigError(key, (err as Error).message)
  }
}

/**
 * The checks a schema cannot express, as the media-url and phone libraries read the values.
 * Throws a ConfigError naming the key; buildApp calls it before anything starts.
 */
export function checkProfileConfig (config: ProfileConfig): void {
  probe('S3_KEY_PREFIX', () => assertKeyPrefix(config.S3_KEY_PREFIX))
  probe('S3_PUBLIC_URL', () => objectUrl('probe', { publicUrl: config.S3_PUBLIC_URL }))

  if (config.PHONE_REGION !== undefined && !isSupportedCountry(config.PHONE_REGION)) {
    const reason = `must be a region code the phone library knows (got "${config.PHONE_REGION}")`
    throw new ConfigError('PHONE_REGION', reason)
  }

  const secret = config.TOKEN_SECRET
  if (secret !== undefined && secret.length < TOKEN_SECRET_MIN_LENGTH) {
    throw new ConfigError('TOKEN_SECRET', `must be at least ${TOKEN_SECRET_MIN_LENGTH} characters long`)
  }
}
