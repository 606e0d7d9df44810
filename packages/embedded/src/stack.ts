import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '@tessera/config'
import { buildApp as buildGateway, GatewayConfigSchema } from '@tessera/gateway'
import { buildApp as buildMedia, loadMediaConfig } from '@tessera/media'
import { buildApp as buildProfile, ProfileConfigSchema } from '@tessera/profile'
import { createSuperuser, findUserByEmail } from '@tessera/profile/superuser'
import { createMemorySessionStore, type SessionStore } from '@tessera/session'
import { startEmbeddedPostgres, startS3Server } from '@tessera/testing'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'

export interface StackOptions {
  /** The environment: any of DATABASE_URL, REDIS_URL, S3_ENDPOINT, SMTP_URL replaces the embedded part. */
  env: NodeJS.ProcessEnv
  /** Where embedded Postgres and the S3 server keep their data across restarts. */
  dataDir: string
  print: (line: string) => void
}

export interface RunningStack {
  gatewayUrl: string
  urls: Record<string, string>
  /** `password` only when generated here (printed once); `passwordSet` when ADMIN_PASSWORD was applied. */
  admin: { email: string, password?: string, created: boolean, passwordSet?: boolean }
  close: () => Promise<void>
}

const DEFAULT_ADMIN = 'admin@tessera.local'
const BUCKET = 'tessera'

type Closer = () => Promise<void>

/** Fastify runs onListen hooks after `listen()` resolves: wait for the Prometheus listener's URL. */
async function metricsUrl (app: FastifyInstance): Promise<string> {
  for (let i = 0; i < 100 && app.tesseraMetrics.url === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return app.tesseraMetrics.url ?? '(not listening)'
}

async function embeddedPostgres (env: NodeJS.ProcessEnv, dataDir: string, closers: Closer[]): Promise<string> {
  if (env.DATABASE_URL) return env.DATABASE_URL

  const server = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'postgres'),
    port: Number(env.EMBEDDED_PG_PORT ?? 54329),
    persistent: true
  })
  closers.push(server.stop)

  // The cluster's own `postgres` database holds the schema: one database, kept across restarts.
  return server.url
}

async function embeddedS3 (env: NodeJS.ProcessEnv, dataDir: string, closers: Closer[]): Promise<NodeJS.ProcessEnv> {
  if (env.S3_ENDPOINT) return {}

  const directory = join(dataDir, 's3')
  await mkdir(directory, { recursive: true })
  const port = Number(env.EMBEDDED_S3_PORT ?? 9000)
  const s3 = await startS3Server({ bucket: env.S3_BUCKET ?? BUCKET, directory, port })
  closers.push(s3.close)

  return {
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_CHECKSUM_WHEN_REQUIRED: 'true',
    S3_PUBLIC_URL: env.S3_PUBLIC_URL ?? `${s3.endpoint}/${s3.bucket}`
  }
}

/** One secret for the stack's lifetime on this data dir, so thumbnail URLs stay valid across restarts. */
async function mediaUrlSecret (env: NodeJS.ProcessEnv, dataDir: string): Promise<string> {
  if (env.MEDIA_URL_SECRET) return env.MEDIA_URL_SECRET

  const file = join(dataDir, 'media-url-secret')
  const kept = await readFile(file, 'utf8').then((text) => text.trim(), () => '')
  if (kept.length >= 32) return kept

  const secret = randomBytes(32).toString('base64url')
  await writeFile(file, secret + '\n', { mode: 0o600 })
  return secret
}

async function ensureAdmin (env: NodeJS.ProcessEnv, databaseUrl: string): Promise<RunningStack['admin']> {
  const email = env.ADMIN_EMAIL ?? DEFAULT_ADMIN
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 })
  pool.on('error', () => {})
  try {
    const given = env.ADMIN_PASSWORD
    if (given === undefined && await findUserByEmail(pool, email) !== null) return { email, created: false }

    const password = given ?? randomBytes(12).toString('base64url')
    const { created } = await createSuperuser({ pool, email, password })
    return { email, password: given === undefined ? password : undefined, created, passwordSet: given !== undefined }
  } finally {
    await pool.end()
  }
}

/**
 * The whole system in one process: embedded Postgres and S3 unless configured, one in-process session
 * store shared by the three apps unless REDIS_URL is set, e-mails in the log unless SMTP_URL is set.
 */
export async function startStack ({ env, dataDir, print }: StackOptions): Promise<RunningStack> {
  const closers: Closer[] = []
  const apps: FastifyInstance[] = []
  const close = async () => {
    for (const app of apps.reverse()) await app.close().catch(() => {})
    for (const stop of closers.reverse()) await stop().catch(() => {})
  }

  try {
    await mkdir(dataDir, { recursive: true })
    const databaseUrl = await embeddedPostgres(env, dataDir, closers)
    const s3Env = await embeddedS3(env, dataDir, closers)

    const ports = {
      gateway: env.GATEWAY_PORT ?? '8080',
      profile: env.PROFILE_PORT ?? '8081',
      media: env.MEDIA_PORT ?? '8082'
    }
    const host = env.HOST ?? '127.0.0.1'
    const shared: NodeJS.ProcessEnv = {
      COOKIE_SECURE: 'false',
      FRONTEND_URL: 'http://localhost:5173',
      ...env,
      ...s3Env,
      DATABASE_URL: databaseUrl,
      MEDIA_URL_SECRET: await mediaUrlSecret(env, dataDir),
      HOST: host,
      S3_CREATE_BUCKET: 'true'
    }
    const sessionStore: SessionStore | undefined = env.REDIS_URL
      ? undefined
      : createMemorySessionStore({ ttlSeconds: Number(env.SESSION_TTL ?? 86_400) })
    if (sessionStore !== undefined) closers.push(async () => { await sessionStore.close?.() })

    const admin = await ensureAdmin(shared, databaseUrl)

    const profile = await buildProfile(
      loadConfig(ProfileConfigSchema, { ...shared, PORT: ports.profile, METRICS_PORT: env.PROFILE_METRICS_PORT ?? '9101' }),
      { sessionStore }
    )
    apps.push(profile)
    const media = await buildMedia(
      loadMediaConfig({ ...shared, PORT: ports.media, METRICS_PORT: env.MEDIA_METRICS_PORT ?? '9102' }),
      { sessionStore }
    )
    apps.push(media)
    const gateway = await buildGateway(loadConfig(GatewayConfigSchema, {
      ...shared,
      PORT: ports.gateway,
      METRICS_PORT: env.GATEWAY_METRICS_PORT ?? '9100',
      PROFILE_URL: `http://${host}:${ports.profile}`,
      MEDIA_URL: `http://${host}:${ports.media}`,
      DEBUG: env.DEBUG ?? 'true'
    }), { sessionStore })
    apps.push(gateway)

    const profileUrl = await profile.listen({ host, port: Number(ports.profile) })
    const mediaUrl = await media.listen({ host, port: Number(ports.media) })
    const gatewayUrl = await gateway.listen({ host, port: Number(ports.gateway) })

    const urls = {
      gateway: gatewayUrl,
      docs: `${gatewayUrl}/docs`,
      profile: profileUrl,
      media: mediaUrl,
      s3: s3Env.S3_ENDPOINT ?? String(env.S3_ENDPOINT),
      'prometheus (gateway)': await metricsUrl(gateway),
      'prometheus (profile)': await metricsUrl(profile),
      'prometheus (media)': await metricsUrl(media)
    }
    for (const [name, url] of Object.entries(urls)) print(`  ${name.padEnd(22)} ${url}`)

    return { gatewayUrl, urls, admin, close }
  } catch (err) {
    await close()
    throw err
  }
}
