import { once } from 'node:events'
import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { redisUrl } from './env.js'
import { uniqueName } from './names.js'

export interface TestRedis {
  url: string
  /** Prepended to every key `client` touches, e.g. `t:ab12cd34_session_9f8e7d6c:`. */
  prefix: string
  /** An ioredis client whose `keyPrefix` is `prefix`. */
  client: Redis
  /** The keys under `prefix`, without it, sorted. */
  keys(): Promise<string[]>
  /** Deletes every key under `prefix` and disconnects both clients; safe to call twice. */
  cleanup(): Promise<void>
}

export interface TestRedisOptions {
  /** Part of the prefix; defaults to the current test file's name. */
  label?: string
  /** The server to use; defaults to REDIS_URL. */
  url?: string
}

const SCAN_COUNT = 500

function globEscape (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

async function scanPrefix (raw: Redis, prefix: string): Promise<string[]> {
  const match = `${globEscape(prefix)}*`
  const found = new Set<string>()
  let cursor = '0'

  // SCAN may return a key more than once and never blocks the server the way KEYS does
  do {
    const [next, batch] = await raw.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT)
    for (const key of batch) found.add(key)
    cursor = next
  } while (cursor !== '0')

  return [...found]
}

// quit() resolves on the server's OK; the socket closes a moment later
async function close (redis: Redis): Promise<void> {
  if (redis.status === 'end') return

  await Promise.all([once(redis, 'end'), redis.quit().catch(() => redis.disconnect())])
}

/**
 * Gives a test file its own key prefix on the Redis at REDIS_URL. Throws when REDIS_URL is not
 * set: guard Redis-only suites with `describeRedis`.
 */
export async function createTestRedis (options: TestRedisOptions = {}): Promise<TestRedis> {
  const url = options.url ?? redisUrl()
  if (!url) throw new Error('createTestRedis needs REDIS_URL (wrap the suite in describeRedis)')

  const prefix = `t:${uniqueName(options.label)}:`
  const client = new Redis(url, { keyPrefix: prefix, lazyConnect: true })
  // The raw client has no keyPrefix: ioredis does not apply it to SCAN patterns or results
  const raw = new Redis(url, { lazyConnect: true })

  try {
    await Promise.all([client.connect(), raw.connect()])
  } catch (err) {
    client.disconnect()
    raw.disconnect()
    throw new Error(`Redis at ${url} does not answer`, { cause: err })
  }

  async function keys (): Promise<string[]> {
    const found = await scanPrefix(raw, prefix)
    return found.map((key) => key.slice(prefix.length)).sort()
  }

  let cleaning: Promise<void> | undefined
  async function clean (): Promise<void> {
    try {
      const found = await scanPrefix(raw, prefix)
      for (let i = 0; i < found.length; i += SCAN_COUNT) {
        await raw.unlink(...found.slice(i, i + SCAN_COUNT))
      }
    } finally {
      await Promise.allSettled([close(client), close(raw)])
    }
  }

  return {
    url,
    prefix,
    client,
    keys,
    cleanup: () => {
      cleaning ??= clean()
      return cleaning
    }
  }
}

/** Registers beforeAll/afterAll that create and clean up a Redis prefix for the current file. */
export function useTestRedis (options: TestRedisOptions = {}): () => TestRedis {
  let redis: TestRedis | undefined

  beforeAll(async () => {
    redis = await createTestRedis(options)
  })

  afterAll(async () => {
    await redis?.cleanup()
  })

  return () => {
    if (!redis) throw new Error('The test Redis exists only once beforeAll has run')
    return redis
  }
}
