import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'

export type TokenPurpose = 'activation' | 'reset'

export interface ClaimedToken {
  digest: string
  /** Which try this is, counting this one. */
  tries: number
}

/**
 * Where code digests live. A claim counts a try before the caller compares, so that concurrent
 * guesses cannot get more than `maxTries` comparisons between them.
 */
export interface TokenStore {
  /** Stores `digest` under `key` for `ttlMs`, replacing any earlier code and its try count. */
  put (key: string, digest: string, ttlMs: number): Promise<void>
  /** Counts a try; null when no live code is left or it ran out of tries (then it is deleted). */
  claim (key: string, maxTries: number): Promise<ClaimedToken | null>
  /** Deletes the code if it still is `digest` (not a newer one); true when it did. */
  discard (key: string, digest: string): Promise<boolean>
}

export interface TokensOptions {
  store: TokenStore
  /** Lifetime of activation codes in seconds; default 900 (TOKEN_TTL). */
  ttlSeconds?: number
  /** Lifetime of reset codes in seconds; default twice `ttlSeconds`. */
  resetTtlSeconds?: number
  /** Wrong tries before a code is void; default 5. */
  maxTries?: number
  /**
   * HMAC key for digests. Without one, a digest is a plain SHA-256 of purpose, user and code,
   * which anyone who reads the store can reverse by trying the million codes.
   */
  secret?: string | Buffer
}

const CODE_PATTERN = /^\d{6}$/

/** Issues and checks the 6-digit activation and password-reset codes. */
export function createTokens (options: TokensOptions) {
  const { store, secret } = options
  const ttlSeconds = options.ttlSeconds ?? 900
  const lifetimes: Record<TokenPurpose, number> = {
    activation: ttlSeconds,
    reset: options.resetTtlSeconds ?? ttlSeconds * 2
  }
  const maxTries = options.maxTries ?? 5

  function keyOf (purpose: TokenPurpose, userId: string): string {
    return `${purpose}:${userId.toLowerCase()}`
  }

  function digestOf (purpose: TokenPurpose, userId: string, code: string): string {
    const input = `${purpose}:${userId.toLowerCase()}:${code}`
    const mac = secret === undefined ? createHash('sha256') : createHmac('sha256', secret)
    return mac.update(input).digest('hex')
  }

  return {
    /** Seconds a new code of this purpose stays valid. */
    lifetime (purpose: TokenPurpose): number {
      return lifetimes[purpose]
    },

    /** Creates a code, replacing any earlier one of this purpose for this user, and returns it. */
    async issue (purpose: TokenPurpose, userId: string): Promise<string> {
      const code = randomInt(0, 1_000_000).toString().padStart(6, '0')
      const ttlMs = Math.ceil(lifetimes[purpose] * 1000)
      await store.put(keyOf(purpose, userId), digestOf(purpose, userId, code), ttlMs)
      return code
    },

    /**
     * True when `submitted` (spaces ignored) is the live code; the code is then used up. A wrong
     * code costs one of the tries. Anything but six digits costs nothing and never matches.
     */
    async verify (purpose: TokenPurpose, userId: string, submitted: string): Promise<boolean> {
      const code = submitted.replace(/\s+/g, '')
      if (!CODE_PATTERN.test(code)) return false

      const key = keyOf(purpose, userId)
      const claimed = await store.claim(key, maxTries)
      if (claimed === null) return false

      // Equal-length digests, compared in constant time: the time says nothing about the code
      const expected = Buffer.from(claimed.digest, 'hex')
      const given = Buffer.from(digestOf(purpose, userId, code), 'hex')
      const matches = expected.length === given.length && timingSafeEqual(expected, given)

      if (matches) return store.discard(key, claimed.digest)
      if (claimed.tries >= maxTries) await store.discard(key, claimed.digest)
      return false
    },

    /** Voids any live code of this purpose for this user. */
    async revoke (purpose: TokenPurpose, userId: string): Promise<void> {
      const key = keyOf(purpose, userId)
      const claimed = await store.claim(key, Number.MAX_SAFE_INTEGER)
      if (claimed !== null) await store.discard(key, claimed.digest)
    }
  }
}

export type Tokens = ReturnType<typeof createTokens>

// KEYS[1] the code; ARGV[1] the most tries. Missing: nil. Over the limit: deleted, nil.
const CLAIM_SCRIPT = `
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest then return nil end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return nil
end
return {digest, tries}
`

// KEYS[1] the code; ARGV[1] the digest it must still hold.
const DISCARD_SCRIPT = `
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

export interface RedisTokenStoreOptions {
  /** Put before every key (after any keyPrefix of the client); default `token:`. */
  prefix?: string
}

/** Codes in Redis hashes `<prefix><purpose>:<user id>` {digest, tries} with a TTL. */
export function createRedisTokenStore (
  redis: Redis,
  options: RedisTokenStoreOptions = {}
): TokenStore {
  const prefix = options.prefix ?? 'token:'

  return {
    async put (key, digest, ttlMs) {
      const full = prefix + key
      const results = await redis.multi()
        .del(full)
        .hset(full, { digest, tries: 0 })
        .pexpire(full, ttlMs)
        .exec()
      const failed = results?.find(([err]) => err !== null)?.[0]
      if (results === null || failed) throw failed ?? new Error('token write was aborted')
    },

    async claim (key, maxTries) {
      const reply = await redis.eval(CLAIM_SCRIPT, 1, prefix + key, String(maxTries))
      const result = reply as [string, number] | null
      return result === null ? null : { digest: result[0], tries: Number(result[1]) }
    },

    async discard (key, digest) {
      return await redis.eval(DISCARD_SCRIPT, 1, prefix + key, digest) === 1
    }
  }
}

export interface MemoryTokenStoreOptions {
  /** The clock; default Date.now. */
  now?: () => number
}

interface MemoryEntry {
  digest: string
  tries: number
  expiresAt: number
}

const SWEEP_INTERVAL_MS = 60_000

/** Codes in this process's memory, for the embedded stack where one process runs everything. */
export function createMemoryTokenStore (
  options: MemoryTokenStoreOptions = {}
): TokenStore & { size (): number } {
  const now = options.now ?? Date.now
  const entries = new Map<string, MemoryEntry>()
  let lastSweep = now()

  function live (key: string): MemoryEntry | undefined {
    const entry = entries.get(key)
    if (entry !== undefined && entry.expiresAt <= now()) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  // Expired codes nobody asks about again go on the next put after a minute, not by a timer
  function sweep (): void {
    const time = now()
    if (time - lastSweep < SWEEP_INTERVAL_MS) return

    lastSweep = time
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= time) entries.delete(key)
    }
  }

  return {
    async put (key, digest, ttlMs) {
      sweep()
      entries.set(key, { digest, tries: 0, expiresAt: now() + ttlMs })
    },

    async claim (key, maxTries) {
      const entry = live(key)
      if (entry === undefined) return null

      entry.tries += 1
      if (entry.tries > maxTries) {
        entries.delete(key)
        return null
      }
      return { digest: entry.digest, tries: entry.tries }
    },

    async discard (key, digest) {
      if (live(key)?.digest !== digest) return false
      return entries.delete(key)
    },

    size () {
      return entries.size
    }
  }
}
