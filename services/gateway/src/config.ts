import { ConfigTypes, Type, type Static } from '@tessera/config'

const url = '\\s*https?://[^\\s,]+\\s*'
const origin = '\\s*https?://[^\\s,/]+\\s*'

const UrlList = (def: string) => Type.String({
  pattern: `^${url}(,${url})*$`,
  description: 'a comma-separated list of http(s) URLs',
  default: def
})

const { Count, Millis } = ConfigTypes

const KiB = 1024
const MiB = 1024 * KiB

export const GatewayConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: ConfigTypes.Port(8080),
  METRICS_PORT: ConfigTypes.Port(9100),
  LOG_LEVEL: ConfigTypes.LogLevel(),
  DEBUG: ConfigTypes.Bool(false),
  SHUTDOWN_GRACE_MS: Millis(10_000),

  /** Base URLs of the replicas of each service, tried round-robin. */
  PROFILE_URL: UrlList('http://127.0.0.1:8081'),
  MEDIA_URL: UrlList('http://127.0.0.1:8082'),
  /** Wait for an upstream's response headers, and at most this long between body chunks. */
  UPSTREAM_TIMEOUT_MS: Millis(10_000),
  /** The same for `POST /file/upload/`, which answers only once the file is stored. */
  UPLOAD_TIMEOUT_MS: Millis(120_000),
  /**
   * Largest body forwarded to `POST /file/upload/`: keep it at least media's MAX_THUMBNAIL_BYTES
   * plus 128 KiB of multipart framing, or files media would take are refused here.
   */
  // Room for media's largest MAX_THUMBNAIL_BYTES (1 GiB) plus the multipart framing around it.
  MAX_UPLOAD_BODY_BYTES: Type.Integer({ minimum: 1, maximum: 1025 * MiB, default: 5 * MiB + 128 * KiB }),

  /** Exact origins allowed to call with credentials; empty: no CORS headers at all. */
  CORS_ORIGINS: Type.String({
    pattern: `^(${origin}(,${origin})*)?$`,
    description: 'a comma-separated list of origins such as https://app.example.com',
    default: ''
  }),
  /**
   * Proxies in front of the gateway whose X-Forwarded-* headers are believed: a hop count or a
   * comma-separated list of addresses, CIDR ranges or proxy-addr names (loopback, uniquelocal).
   */
  TRUST_PROXY: Type.Optional(Type.String({
    pattern: '^(\\d+|[\\w:./]+(\\s*,\\s*[\\w:./]+)*)$',
    description: 'a hop count or a comma-separated list of addresses'
  })),

  REDIS_URL: Type.Optional(ConfigTypes.Url()),
  REDIS_KEY_PREFIX: Type.String({ default: '' }),
  SESSION_TTL: ConfigTypes.Seconds(86_400),
  COOKIE_SECURE: ConfigTypes.Bool(true),

  RATE_LIMIT_WINDOW: ConfigTypes.Seconds(60),
  /** Per client address and window: POST /users/login/. */
  LOGIN_RATE_LIMIT: Count(10),
  /** Per client address and window: register, regenerate-token and activate. */
  ACCOUNT_RATE_LIMIT: Count(10),
  /** Per client address and window: the password reset routes. */
  PASSWORD_RATE_LIMIT: Count(5),
  /** Per signed-in user and window: POST /file/upload/. */
  UPLOAD_RATE_LIMIT: Count(30),

  /** How long the services' OpenAPI documents are reused before being fetched again. */
  DOCS_CACHE_SECONDS: ConfigTypes.Seconds(10)
})

export type GatewayConfig = Static<typeof GatewayConfigSchema>

/** The items of a comma-separated config value, trimmed, empty ones dropped. */
export function listOf (value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/** Fastify's `trustProxy` from TRUST_PROXY: off when unset, a hop count, or an address list. */
type TrustProxy = string | false | ((address: string, hop: number) => boolean)

export function trustProxyOf (value: string | undefined): TrustProxy {
  if (value === undefined) return false
  if (!/^\d+$/.test(value)) return value

  const hops = Number(value)
  return (_address, hop) => hop < hops
}
