import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { loadConfig } from '@tessera/config'
import { MediaConfigSchema } from '@tessera/media'
import { ProfileConfigSchema } from '@tessera/profile'
import { getFreePort } from '@tessera/testing'
import { openDatabase, openRedis, type Database, type RedisSpace } from './infra.js'
import {
  startChild, waitForJsonFile, waitUntilReady, type Child, type ChildOptions
} from './processes.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const benchDir = fileURLToPath(new URL('..', import.meta.url))

export const GiB = 1024 * 1024 * 1024

export interface S3Info {
  endpoint: string
  bucket: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  directory: string
}

export interface Service {
  url: string
  /** The current process (it changes on restart). */
  readonly pid: number
}

export interface SystemOptions {
  /** Where the children's logs (and CPU profiles) go. */
  workDir: string
  /** Node flags for the gateway and media processes, e.g. `--cpu-prof`. */
  profileFlags?: string[]
}

export interface System {
  /** `separate`: one process per service (Redis shares the sessions); `combined`: one process. */
  mode: 'separate' | 'combined'
  database: Database
  redis: RedisSpace | undefined
  s3: S3Info
  gateway: Service
  profile: Service
  media: Service
  /** Every process of the system by name, now: gateway, profile, media and s3, or stack and s3. */
  pids: Record<string, number>
  /** Every process started so far, restarted ones included (to name CPU profiles). */
  started: Array<{ name: string, pid: number }>
  /** The pids of these services by name; without Redis, the one `stack` process instead. */
  processes (...names: Array<'gateway' | 'profile' | 'media'>): Record<string, number>
  /**
   * Stops these services and starts them again on the same ports (for a fresh process), with `env`
   * over their own for this start only; without Redis, the whole stack, which forgets every session.
   */
  restart (names: Array<'gateway' | 'profile' | 'media'>, env?: Record<string, string>): Promise<void>
  upload: { partSize: number, queueSize: number, maxBytes: number }
  argon2: { memoryCost: number, timeCost: number, parallelism: number }
  poolMax: number
  close (): Promise<void>
}

// Raised for the run only, through the environment the services read anyway.
const RUN_LIMITS = {
  LOGIN_RATE_LIMIT: '1000000',
  UPLOAD_RATE_LIMIT: '100000',
  RATE_LIMIT_LOGIN_MAX: '1000000',
  MAX_THUMBNAIL_BYTES: String(GiB),
  // The schema's maximum: a whole request of 1 GiB, multipart framing included.
  MAX_UPLOAD_BODY_BYTES: String(GiB),
  UPLOAD_TIMEOUT_MS: '180000',
  REQUEST_TIMEOUT_MS: '180000'
}

const PASSED_KEYS = ['ARGON2_MEMORY_KIB', 'ARGON2_TIME_COST', 'ARGON2_PARALLELISM', 'PG_POOL_MAX',
  'UPLOAD_PART_SIZE', 'UPLOAD_QUEUE_SIZE']

function passed (env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of PASSED_KEYS) if (env[key]) out[key] = env[key]
  return out
}

/** Starts an S3 fixture (s3rver, or the discarding endpoint) and waits for the address it writes. */
export async function startS3Fixture (
  workDir: string,
  name: 's3' | 'null-s3',
  entry: string
): Promise<{ child: Child, info: S3Info }> {
  const infoFile = join(workDir, `${name}.json`)
  await rm(infoFile, { force: true })
  const child = startChild({
    name,
    cwd: benchDir,
    entry,
    env: { S3_INFO_FILE: infoFile, S3_BUCKET: 'tessera-bench' },
    logDir: workDir
  })
  try {
    return { child, info: await waitForJsonFile<S3Info>(child, infoFile) }
  } catch (err) {
    await child.stop()
    throw err
  }
}

/** The keys that point the media service at an S3 endpoint. */
export function s3Env (info: S3Info): Record<string, string> {
  return {
    S3_ENDPOINT: info.endpoint,
    S3_REGION: info.region,
    S3_BUCKET: info.bucket,
    S3_ACCESS_KEY_ID: info.accessKeyId,
    S3_SECRET_ACCESS_KEY: info.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    S3_CHECKSUM_WHEN_REQUIRED: 'true',
    S3_PUBLIC_URL: `${info.endpoint}/${info.bucket}`
  }
}

/** How to start one of the system's processes again. */
interface Spec {
  options: ChildOptions
  readyUrl: string
  timeoutMs: number
}

interface Managed extends Spec {
  child: Child
}

/**
 * Starts the whole system on loopback: a throwaway database, a Redis key prefix, the S3 server and
 * gateway, profile and media each in its own process. Without Redis the services cannot share
 * sessions across processes, so the three run in one process (the embedded stack) instead.
 */
export async function startSystem (options: SystemOptions): Promise<System> {
  const { workDir } = options
  await mkdir(workDir, { recursive: true })

  const managed = new Map<string, Managed>()
  const specs = new Map<string, Spec>()
  const pids: Record<string, number> = {}
  const started: Array<{ name: string, pid: number }> = []
  const cleanups: Array<() => Promise<unknown>> = []

  const launch = async (name: string, spec: Spec, env: Record<string, string> = {}) => {
    if (!specs.has(name)) specs.set(name, spec)
    const child = startChild({ ...spec.options, env: { ...spec.options.env, ...env } })
    managed.set(name, { ...spec, child })
    pids[name] = child.pid
    started.push({ name, pid: child.pid })
    await waitUntilReady(child, spec.readyUrl, spec.timeoutMs)
  }
  const close = async () => {
    for (const { child } of [...managed.values()].reverse()) await child.stop().catch(() => {})
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  }

  try {
    const database = await openDatabase(process.env)
    cleanups.push(database.drop)
    const redis = await openRedis(process.env)
    if (redis !== undefined) cleanups.push(redis.clear)

    const s3 = await startS3Fixture(workDir, 's3', 'fixtures/s3-server.ts')
    cleanups.push(() => s3.child.stop())
    pids.s3 = s3.child.pid

    const ports = {
      gateway: await getFreePort(),
      profile: await getFreePort(),
      media: await getFreePort(),
      gatewayMetrics: await getFreePort(),
      profileMetrics: await getFreePort(),
      mediaMetrics: await getFreePort()
    }
    const overrides = passed(process.env)
    const media = loadConfig(MediaConfigSchema, overrides)
    const profile = loadConfig(ProfileConfigSchema, { DATABASE_URL: database.url, ...overrides })

    const shared: Record<string, string> = {
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      COOKIE_SECURE: 'false',
      ...(redis === undefined ? {} : { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix }),
      DATABASE_URL: database.url,
      TOKEN_SECRET: randomBytes(32).toString('base64url'),
      ...s3Env(s3.info),
      UPLOAD_PART_SIZE: String(media.UPLOAD_PART_SIZE),
      UPLOAD_QUEUE_SIZE: String(media.UPLOAD_QUEUE_SIZE),
      ...overrides,
      ...RUN_LIMITS
    }
    const url = (port: number) => `http://127.0.0.1:${port}`
    const flags = options.profileFlags

    if (redis !== undefined) {
      const serviceSpec = (name: string, port: number, env: Record<string, string>, nodeFlags?: string[]): Spec => ({
        options: {
          name,
          cwd: join(root, 'services', name),
          entry: 'src/server.ts',
          env: { ...shared, PORT: String(port), ...env },
          logDir: workDir,
          nodeFlags
        },
        readyUrl: `${url(port)}/readyz`,
        timeoutMs: 60_000
      })

      await Promise.all([
        launch('profile', serviceSpec('profile', ports.profile, {
          METRICS_PORT: String(ports.profileMetrics)
        })),
        launch('media', serviceSpec('media', ports.media, {
          METRICS_PORT: String(ports.mediaMetrics)
        }, flags))
      ])
      await launch('gateway', serviceSpec('gateway', ports.gateway, {
        METRICS_PORT: String(ports.gatewayMetrics),
        PROFILE_URL: url(ports.profile),
        MEDIA_URL: url(ports.media)
      }, flags))
    } else {
      await launch('stack', {
        options: {
          name: 'stack',
          cwd: join(root, 'packages', 'embedded'),
          entry: 'src/main.ts',
          env: {
            ...shared,
            TESSERA_DATA_DIR: join(workDir, 'stack-data'),
            ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
            GATEWAY_PORT: String(ports.gateway),
            PROFILE_PORT: String(ports.profile),
            MEDIA_PORT: String(ports.media),
            GATEWAY_METRICS_PORT: String(ports.gatewayMetrics),
            PROFILE_METRICS_PORT: String(ports.profileMetrics),
            MEDIA_METRICS_PORT: String(ports.mediaMetrics)
          },
          logDir: workDir,
          nodeFlags: flags
        },
        readyUrl: `${url(ports.gateway)}/readyz`,
        timeoutMs: 90_000
      })
    }

    const service = (name: 'gateway' | 'profile' | 'media', port: number): Service => ({
      url: url(port),
      get pid () { return pids[name] ?? pids.stack! }
    })

    return {
      mode: redis === undefined ? 'combined' : 'separate',
      database,
      redis,
      s3: s3.info,
      gateway: service('gateway', ports.gateway),
      profile: service('profile', ports.profile),
      media: service('media', ports.media),
      pids,
      started,
      processes: (...names) => pids.stack !== undefined
        ? { stack: pids.stack }
        : Object.fromEntries(names.map((name) => [name, pids[name]!])),
      async restart (names, env) {
        const targets = pids.stack !== undefined ? ['stack'] : names
        await Promise.all(targets.map((name) => managed.get(name)!.child.stop()))
        await Promise.all(targets.map((name) => launch(name, specs.get(name)!, env)))
      },
      upload: { partSize: media.UPLOAD_PART_SIZE, queueSize: media.UPLOAD_QUEUE_SIZE, maxBytes: GiB },
      argon2: {
        memoryCost: profile.ARGON2_MEMORY_KIB,
        timeCost: profile.ARGON2_TIME_COST,
        parallelism: profile.ARGON2_PARALLELISM
      },
      poolMax: profile.PG_POOL_MAX,
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}
