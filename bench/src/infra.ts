import { randomBytes } from 'node:crypto'
import { startEmbeddedPostgres } from '@tessera/testing'
import { Redis } from 'ioredis'
import pg from 'pg'

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test'
const LOCAL_REDIS = 'redis://127.0.0.1:6379'

export interface Database {
  /** The throwaway database of this run. */
  url: string
  name: string
  /** `server` (the machine's Postgres) or `embedded`. */
  kind: 'server' | 'embedded'
  /** Drops the database (and stops an embedded server). */
  drop (): Promise<void>
}

export interface RedisSpace {
  url: string
  /** REDIS_KEY_PREFIX of every service in this run. */
  prefix: string
  /** Deletes every key under the prefix; resolves with how many there were. */
  clear (): Promise<number>
}

async function answers (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

function withDatabase (url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

async function createThrowaway (adminUrl: string): Promise<Omit<Database, 'kind'>> {
  const name = `tessera_bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }

  const drop = async () => {
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try {
      // FORCE: a service that did not exit in time must not keep its database alive.
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await client.end()
    }
  }

  return { url: withDatabase(adminUrl, name), name, drop }
}

/**
 * A database of its own for this run: on DATABASE_URL, else on the machine's Postgres when it
 * answers, else on an embedded server started for the run.
 */
export async function openDatabase (env: NodeJS.ProcessEnv): Promise<Database> {
  const configured = env.DATABASE_URL || undefined
  const local = env.BENCH_EMBEDDED !== '1' && await answers(LOCAL_POSTGRES) ? LOCAL_POSTGRES : undefined
  const serverUrl = configured ?? local

  if (serverUrl !== undefined) {
    return { ...await createThrowaway(serverUrl), kind: 'server' }
  }

  const server = await startEmbeddedPostgres()
  try {
    const { url, name, drop } = await createThrowaway(server.url)
    return {
      url,
      name,
      kind: 'embedded',
      drop: async () => {
        await drop().catch(() => {})
        await server.stop()
      }
    }
  } catch (err) {
    await server.stop()
    throw err
  }
}

async function ping (url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.ping() === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

/** REDIS_URL, else the machine's Redis when it answers; undefined means in-process stores. */
export async function openRedis (env: NodeJS.ProcessEnv): Promise<RedisSpace | undefined> {
  const configured = env.REDIS_URL || undefined
  const local = env.BENCH_EMBEDDED !== '1' && await ping(LOCAL_REDIS) ? LOCAL_REDIS : undefined
  const url = configured ?? local
  if (url === undefined) return undefined

  const prefix = `tessera-bench-${randomBytes(5).toString('hex')}:`
  const clear = async () => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 })
    let removed = 0
    try {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        if (keys.length > 0) removed += await redis.unlink(...keys)
        cursor = next
      } while (cursor !== '0')
    } finally {
      await redis.quit()
    }
    return removed
  }

  return { url, prefix, clear }
}
