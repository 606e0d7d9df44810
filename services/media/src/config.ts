import { ConfigError, ConfigTypes, loadConfig, Type, type Static } from '@tessera/config'
import { assertKeyPrefix, DEFAULT_KEY_PREFIX, DEFAULT_PUBLIC_URL, objectUrl } from '@tessera/media-url'

const MiB = 1024 * 1024

const { Millis } = ConfigTypes

export const MediaConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: ConfigTypes.Port(8082),
  METRICS_PORT: ConfigTypes.Port(9102),
  LOG_LEVEL: ConfigTypes.LogLevel(),
  SHUTDOWN_GRACE_MS: Millis(10_000),
  /** A client must send a whole request, upload included, within this; 0 is never allowed. */
  REQUEST_TIMEOUT_MS: Millis(120_000),

  REDIS_URL: Type.Optional(ConfigTypes.Url()),
  REDIS_KEY_PREFIX: Type.String({ default: '' }),
  SESSION_TTL: ConfigTypes.Seconds(86_400),
  COOKIE_SECURE: ConfigTypes.Bool(true),

  /** Unset for AWS itself; e.g. `http://127.0.0.1:9000` for MinIO. */
  S3_ENDPOINT: Type.Optional(ConfigTypes.Url()),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_BUCKET: Type.String({
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    description: 'an S3 bucket name (3-63 lowercase letters, digits, "." and "-")',
    default: 'tessera'
  }),
  /** Both or neither; neither uses the SDK's default credential chain. */
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  S3_FORCE_PATH_STYLE: ConfigTypes.Bool(false),
  /** True suits every store (s3rver and MinIO need it); false adds checksums AWS can verify. */
  S3_CHECKSUM_WHEN_REQUIRED: ConfigTypes.Bool(true),
  /** Where clients fetch objects: `<S3_PUBLIC_URL>/<key>`. The profile service must agree. */
  // The profile service's defaults too, so the two agree when neither is configured.
  S3_PUBLIC_URL: ConfigTypes.PublicUrl(DEFAULT_PUBLIC_URL),
  S3_KEY_PREFIX: ConfigTypes.KeyPrefix(DEFAULT_KEY_PREFIX),
  /** Shared with profile: object ids are signed with it, and profile accepts only signed ones. */
  MEDIA_URL_SECRET: ConfigTypes.Secret(),
  /** Create the bucket at start-up when it is missing (the embedded stack sets it). */
  S3_CREATE_BUCKET: ConfigTypes.Bool(false),

  MAX_THUMBNAIL_BYTES: Type.Integer({ minimum: 1, maximum: 1024 * MiB, default: 5 * MiB }),
  /** Bytes per multipart part sent to S3; memory per upload is about (queue + 1) × part. */
  UPLOAD_PART_SIZE: Type.Integer({ minimum: 5 * MiB, maximum: 64 * MiB, default: 5 * MiB }),
  UPLOAD_QUEUE_SIZE: Type.Integer({ minimum: 1, maximum: 16, default: 2 })
})

export type MediaConfig = Static<typeof MediaConfigSchema>

/**
 * `loadConfig` with the checks a schema cannot express: the key prefix and public URL as the
 * media-url package reads them, and the S3 key pair given whole or not at all.
 */
export function loadMediaConfig (env: NodeJS.ProcessEnv = process.env): MediaConfig {
  const config = loadConfig(MediaConfigSchema, env)

  try {
    assertKeyPrefix(config.S3_KEY_PREFIX)
  } catch (err) {
    throw new ConfigError('S3_KEY_PREFIX', (err as Error).message)
  }

  try {
    objectUrl('probe', { publicUrl: config.S3_PUBLIC_URL })
  } catch (err) {
    throw new ConfigError('S3_PUBLIC_URL', (err as Error).message)
  }

  if ((config.S3_ACCESS_KEY_ID === undefined) !== (config.S3_SECRET_ACCESS_KEY === undefined)) {
    const missing = config.S3_ACCESS_KEY_ID === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'
    throw new ConfigError(missing, 'is required when its pair is set')
  }

  return config
}
