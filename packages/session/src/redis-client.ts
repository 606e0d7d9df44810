import { Redis } from 'ioredis'

/** A Redis that stops answering (a partition) fails a command after this, not never. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000

export interface RedisSettings {
  REDIS_URL?: string
  REDIS_KEY_PREFIX: string
}

export interface RedisChoice {
  redis?: Redis
  /** Whether the app created the client and so must close it. */
  owned: boolean
}

/**
 * The app's Redis client: the injected one (tests, the embedded stack), one made from REDIS_URL, or
 * none. Few retries, so a request waiting on a Redis that is down fails fast instead of queueing.
 */
export function redisClientFor (config: RedisSettings, injected?: Redis): RedisChoice {
  if (injected !== undefined) return { redis: injected, owned: false }
  if (config.REDIS_URL === undefined) return { owned: false }

  const redis = new Redis(config.REDIS_URL, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    maxRetriesPerRequest: 1,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS
  })
  return { redis, owned: true }
}
